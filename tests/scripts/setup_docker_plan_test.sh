#!/usr/bin/env bash
# scripts/setup --docker-plan: Debian's docker.io is chosen only when the
# machine has no Docker engine at all. The installed packages come from a fake
# dpkg-query (a machine with docker-ce cannot be produced here otherwise), the
# engine from DOCKER_HOST, dockerd from PATH. A fake apt-get records any call:
# the plan must change nothing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/setup-plan-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0

mkdir -p "$tmp/bin"
# fake dpkg-query: "installed" for each package named in $FAKE_INSTALLED.
cat >"$tmp/bin/dpkg-query" <<'FAKE'
#!/bin/sh
pkg=""; for a in "$@"; do pkg=$a; done
for p in $FAKE_INSTALLED; do
  [ "$p" = "$pkg" ] && { printf 'install ok installed'; exit 0; }
done
printf 'unknown ok not-installed'; exit 1
FAKE
printf '#!/bin/sh\necho "$@" >>"%s/apt-called"\n' "$tmp" >"$tmp/bin/apt-get"
chmod +x "$tmp/bin/dpkg-query" "$tmp/bin/apt-get"
# A PATH with the fakes and the basic tools but no sbin: no dockerd.
base_path="$tmp/bin:/usr/bin:/bin"
if PATH=$base_path command -v dockerd >/dev/null; then
  echo "SKIP: dockerd is in /usr/bin or /bin here; cannot build a PATH without it"
  exit 0
fi

# expect NAME WANT [VAR=VALUE...]: runs the plan with those variables.
expect() {
  local name=$1 want=$2 got
  shift 2
  got=$(env PATH="$base_path" DOCKER_HOST=unix://$tmp/no-engine.sock FAKE_INSTALLED= "$@" \
          bash "$repo/scripts/setup" --docker-plan 2>&1) || true
  if [ "$got" = "$want" ]; then
    echo "ok   $name: $got"
  else
    echo "FAIL $name: want '$want', got '$got'"
    fails=$((fails + 1))
  fi
}

expect "no engine at all" "install docker.io"
expect "docker-ce installed" "use: package docker-ce is installed" FAKE_INSTALLED="docker-ce docker-ce-cli"
expect "moby-engine installed" "use: package moby-engine is installed" FAKE_INSTALLED=moby-engine
expect "docker.io installed" "use: package docker.io is installed" FAKE_INSTALLED=docker.io
mkdir -p "$tmp/dockerd-bin"
printf '#!/bin/sh\nexit 0\n' >"$tmp/dockerd-bin/dockerd"
chmod +x "$tmp/dockerd-bin/dockerd"
expect "dockerd on PATH" "use: dockerd is installed at $tmp/dockerd-bin/dockerd" \
  PATH="$tmp/dockerd-bin:$base_path"
# An engine that answers: the machine's own, when there is one.
sock=/var/run/docker.sock
if curl -sf --max-time 2 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1; then
  expect "engine answers" "use: an engine answers on $sock" DOCKER_HOST=unix://$sock
else
  echo "skip engine answers: no engine on $sock to answer"
fi
if [ -e "$tmp/apt-called" ]; then
  echo "FAIL --docker-plan ran apt-get: $(cat "$tmp/apt-called")"
  fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
