# shellcheck shell=bash disable=SC2034  # sourced by scripts/build-images
# hal9000/parent:local: the parent container's image. The Debian base (the
# worker's debootstrap rootfs, cached) + the runtime libraries hal9000d links
# (found from the binary with ldd and dpkg, installed from Debian's mirror, no
# compiler) + iptables (the daemon loads the egress filter into the namespace
# owner's network namespace with iptables-restore) + hal9000d from the build
# tree; /etc/passwd and /etc/group are symlinks into /run/host/etc, where the
# daemon's container has the host's /etc. Its own command idles, TERM-aware,
# so the same image also owns the network namespace workers join;
# `claudy daemon start` runs `hal9000d run` in it. The hash covers the binary
# and the package list, so a new build of hal9000d makes a new image.
# Sourced by scripts/build-images. HAL9000_BUILD_DIR: the build tree (default
# build/).
STAGES=6
BUILD_DIR=${HAL9000_BUILD_DIR:-$REPO_DIR/build}
DAEMON_BIN=$BUILD_DIR/hal9000d
# Programs hal9000d runs (runtime/egress.cpp: iptables-restore, ip6tables-restore).
TOOL_PACKAGES="iptables"

# The Debian packages of the shared libraries hal9000d links (ldd -> dpkg -S),
# sorted; the C library and the loader come with the base.
daemon_packages() {
  local lib real pkg
  for lib in $(ldd "$DAEMON_BIN" | awk '$3 ~ /^\// { print $3 }'); do
    real=$(readlink -f "$lib")
    pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null) \
      || { echo "build-images: no Debian package owns $lib (needed by $DAEMON_BIN)" >&2; return 1; }
    echo "${pkg%%:*}"
  done | sort -u | grep -vx -e libc6 -e libgcc-s1 -e libstdc++6 -e zlib1g
  echo libstdc++6
}

hash_extra() {
  if [ ! -x "$DAEMON_BIN" ]; then
    echo "build-images: $DAEMON_BIN not found: build first (cmake --build build)" >&2
    return 1
  fi
  sha256sum "$DAEMON_BIN" | cut -d' ' -f1
  daemon_packages
  echo "$TOOL_PACKAGES"
}

build() {
  local pkgs
  pkgs="$(daemon_packages | tr '\n' ' ')$TOOL_PACKAGES"
  stage "Debian base (debootstrap $HAL9000_DEBIAN_SUITE, minbase)"
  ensure_base_image
  stage "build container from $BASE_IMAGE"
  start_build_container "$BASE_IMAGE"
  stage "apt-get install hal9000d's libraries ($(echo $pkgs | wc -w) packages)"
  run echo "packages: $pkgs"
  # shellcheck disable=SC2086
  in_build sh -c "apt-get update -q &&
    apt-get install -y -q --no-install-recommends ca-certificates $pkgs &&
    apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log"
  stage "hal9000d (stripped) + entrypoint"
  run strip -o "$WORK/hal9000d" "$DAEMON_BIN"
  run docker cp "$WORK/hal9000d" "$BUILD_CTR:/usr/local/bin/hal9000d"
  run docker cp "$RECIPE_DIR/entrypoint.sh" "$BUILD_CTR:/entrypoint.sh"
  # The host's users: `claudy daemon start` binds the host's /etc read-only at
  # /run/host/etc (actors/parent_spec.hpp daemon_host_etc); the image's
  # passwd and group point there, so a user added on the host after the start
  # (useradd replaces the file: a bind of the file itself would keep the old
  # one) is seen at once. Dangling where nothing is bound (the netns owner):
  # nothing there looks users up.
  in_build sh -c 'chown 0:0 /usr/local/bin/hal9000d /entrypoint.sh &&
    chmod 0755 /usr/local/bin/hal9000d /entrypoint.sh && mkdir -p /root/.hal9000 /run/host/etc &&
    ln -sfn /run/host/etc/passwd /etc/passwd && ln -sfn /run/host/etc/group /etc/group'
  stage "flatten into one layer (docker export | docker import)"
  export_image 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV HAL9000_HOME=/root/.hal9000' 'ENV LANG=C.UTF-8' 'WORKDIR /' \
    'CMD ["/entrypoint.sh"]'
  stage "check: hal9000d --version, iptables-restore, no compiler, host users linked"
  run docker run --rm --network none --label hal9000.build=parent "$TAG_HASH" sh -c \
    'set -e; hal9000d --version; command -v iptables-restore; ! command -v cc; ! command -v g++;
     [ "$(readlink /etc/passwd)" = /run/host/etc/passwd ]; [ "$(readlink /etc/group)" = /run/host/etc/group ]'
}
