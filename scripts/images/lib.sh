# shellcheck shell=bash disable=SC2034  # sourced; sets variables for the recipes
# Helpers for scripts/build-images and the recipes under images/<name>/build.sh.
# Sourced, never run. A recipe sets STAGES (how many `stage` calls it makes)
# and defines build(), which must leave an image tagged "$TAG_HASH".
#
# What a recipe can use:
#   stage "text"        starts the next stage: "[2/5] text"
#   run cmd args...     runs a command, its output into the build log
#   in_build cmd...     runs a command in the recipe's build container
#   start_build_container IMAGE   a labelled container the recipe works in
#   export_image CHANGES...       flattens the build container into $TAG_HASH
#   NPM_VERSION, NPM_INTEGRITY    the npm that /build-lib/install-npm.sh installs
#   ensure_base_image   sets BASE_IMAGE to the Debian base image (building it)
# Variables: RECIPE_DIR, WORK (scratch dir, removed afterwards), CACHE_DIR,
#   TAG_HASH, LOG.

HAL9000_DEBIAN_MIRROR=${HAL9000_DEBIAN_MIRROR:-http://deb.debian.org/debian}
HAL9000_DEBIAN_SUITE=bookworm
# npm from the registry (Debian's npm package is 400 packages): newest 10.x,
# which still runs on Debian 12's Node.js 18.19.
NPM_VERSION=10.9.9
NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==

# -- output ---------------------------------------------------------------------

# mode: tty (stages with a live last-line of output), plain, quiet.
: "${OUT_MODE:=plain}"
STAGE_NO=0
STAGE_T0=0
STAGE_TEXT=""

_now_ms() { date +%s%3N; }
_secs() { # ms -> "12.3s"
  local ms=$1
  printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

say() { [ "$OUT_MODE" = quiet ] || printf '%s\n' "$*"; }

_end_stage() {
  [ "$STAGE_NO" -gt 0 ] || return 0
  local took=$(($(_now_ms) - STAGE_T0))
  case "$OUT_MODE" in
    tty) printf '\r\033[K\033[32m[%d/%d]\033[0m %s \033[2m(%s)\033[0m\n' \
           "$STAGE_NO" "$STAGES" "$STAGE_TEXT" "$(_secs "$took")" ;;
    plain) printf '[%d/%d] %s: done (%s)\n' "$STAGE_NO" "$STAGES" "$STAGE_TEXT" "$(_secs "$took")" ;;
  esac
}

stage() {
  _end_stage
  STAGE_NO=$((STAGE_NO + 1))
  STAGE_TEXT=$1
  STAGE_T0=$(_now_ms)
  printf '==== [%d/%d] %s\n' "$STAGE_NO" "$STAGES" "$1" >>"$LOG"
  case "$OUT_MODE" in
    tty) printf '\033[1m[%d/%d]\033[0m %s ...' "$STAGE_NO" "$STAGES" "$1" ;;
    plain) printf '[%d/%d] %s\n' "$STAGE_NO" "$STAGES" "$1" ;;
  esac
}

# Runs a command with its output in the log. On a terminal the last line of
# that output is shown under the stage while it runs.
run() {
  if [ "$OUT_MODE" != tty ]; then
    "$@" >>"$LOG" 2>&1
    return
  fi
  "$@" >>"$LOG" 2>&1 &
  local pid=$! cols
  cols=$(tput cols 2>/dev/null || echo 80)
  while kill -0 "$pid" 2>/dev/null; do
    local last
    last=$(tail -n 3 "$LOG" | grep -v '^==== ' | tail -n 1 | tr -d '\r\033' | cut -c1-$((cols - 12)))
    printf '\r\033[K\033[1m[%d/%d]\033[0m \033[2m%s\033[0m' "$STAGE_NO" "$STAGES" "$last"
    sleep 0.2
  done
  wait "$pid"
}

# -- hashing --------------------------------------------------------------------

# sha256 over the named files and directories (paths relative to the repo, and
# contents), in a stable order, plus any extra text on stdin.
recipe_hash() {
  local extra
  extra=$(cat)
  {
    (cd "$REPO_DIR" && find "$@" -type f -print0 | LC_ALL=C sort -z \
       | xargs -0 sha256sum)
    printf '%s\n' "$extra"
  } | sha256sum | cut -c1-16
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# -- the Debian base ----------------------------------------------------------------

# shellcheck source=images/base/base.sh
. "$REPO_DIR/images/base/base.sh"

# Removes base tarballs and base images of older base recipes.
prune_old_bases() {
  local hash f tag
  hash=$(recipe_hash images/base </dev/null)
  for f in "$CACHE_DIR"/base-*.tar; do
    [ -e "$f" ] && [ "$f" != "$CACHE_DIR/base-$hash.tar" ] && rm -f "$f"
  done
  for tag in $(docker image ls --format '{{.Repository}}:{{.Tag}}' hal9000/base | grep ':r-'); do
    [ "$tag" = "hal9000/base:r-$hash" ] && continue
    docker rmi "$tag" >/dev/null 2>&1 || say "note: kept $tag (still in use)"
  done
  return 0
}

# -- build containers ---------------------------------------------------------------

BUILD_CTR=""

# CA bundle for npm/apt inside the build container: the host's, so builds work
# behind a TLS-inspecting proxy too. Only mounted while building, never baked.
_host_ca() {
  local ca=${HAL9000_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
  [ -r "$ca" ] && echo "$ca"
}

start_build_container() {
  local image=$1 ca registry
  BUILD_CTR=hal9000-build-$NAME-$$-$RANDOM
  # Host network: a build needs only the mirrors, not a bridge of its own.
  local args=(--name "$BUILD_CTR" --label hal9000.build="$NAME" --network host
              -v "$RECIPE_DIR:/recipe:ro" -v "$REPO_DIR/scripts/images:/build-lib:ro"
              -e DEBIAN_FRONTEND=noninteractive)
  ca=$(_host_ca) && args+=(-v "$ca:/run/build-ca.crt:ro"
                           -e NODE_EXTRA_CA_CERTS=/run/build-ca.crt
                           -e npm_config_cafile=/run/build-ca.crt)
  registry=$(npm config get registry 2>/dev/null || true)
  [ -n "$registry" ] && args+=(-e "npm_config_registry=$registry")
  run docker run -d "${args[@]}" "$image" sleep infinity
}

in_build() { run docker exec "$BUILD_CTR" "$@"; }

# Flattens the build container's filesystem into one layer tagged $TAG_HASH.
export_image() {
  local changes=() c
  for c in "$@"; do changes+=(--change "$c"); done
  docker stop -t 1 "$BUILD_CTR" >>"$LOG" 2>&1
  run sh -c "docker export '$BUILD_CTR' | docker import $(printf "%q " "${changes[@]}") - '$TAG_HASH'"
}

remove_build_container() {
  [ -n "$BUILD_CTR" ] || return 0
  docker rm -f "$BUILD_CTR" >/dev/null 2>&1 || echo "warning: could not remove $BUILD_CTR" >&2
  BUILD_CTR=""
}

# -- busybox for the tiny images -------------------------------------------------------

# Path of a statically linked busybox (the busybox-static package's).
static_busybox() {
  local bb
  for bb in /bin/busybox /usr/bin/busybox; do
    if [ -x "$bb" ] && ! ldd "$bb" >/dev/null 2>&1; then
      echo "$bb"
      return
    fi
  done
  echo "no statically linked busybox found: apt-get install busybox-static" >&2
  return 1
}

# A minimal root for a busybox image in $1: every applet linked in /bin.
busybox_root() {
  local root=$1 bb
  bb=$(static_busybox) || return
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/run}
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  local a
  for a in $("$root/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}
