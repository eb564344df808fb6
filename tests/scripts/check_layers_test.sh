#!/usr/bin/env bash
# scripts/check-layers: the real tree has no upward include, and the check
# does catch one (a small tree made here with runtime/ including actors/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
check="$src/scripts/check-layers"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$check" "$src" || fail "the source tree has an upward include (listed above)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{messages,runtime,actors,cli,daemon}
echo '#include "messages/error.hpp"' > "$tmp/actors/ok.cpp"
echo '#include "actors/ok.hpp"'     > "$tmp/daemon/ok.cpp"
"$check" "$tmp" >/dev/null || fail "downward includes were refused"

echo '#include "actors/pool_scaler.hpp"' > "$tmp/runtime/bad.cpp"
echo '  #include "daemon/runtime.hpp"'    > "$tmp/cli/bad.hpp"
set +e; out=$("$check" "$tmp"); rc=$?; set -e
[ $rc -eq 1 ] || fail "upward includes: exit $rc, expected 1"
grep -q 'runtime/bad.cpp:1: runtime may not include actors/pool_scaler.hpp' <<<"$out" ||
  fail "runtime -> actors not named: $out"
grep -q 'cli/bad.hpp:1: cli may not include daemon/runtime.hpp' <<<"$out" ||
  fail "cli -> daemon not named: $out"

set +e; "$check" "$tmp/nowhere" 2>/dev/null; rc=$?; set -e
[ $rc -eq 2 ] || fail "a missing root: exit $rc, expected 2"
echo "check_layers_test: ok"
