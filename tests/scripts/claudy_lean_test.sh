#!/usr/bin/env bash
# claudy starts with only what every command needs: no libcurl, cpp-httplib or
# OpenSSL among its dynamic dependencies (loading and relocating them was
# about 6 ms of CPU at every start; TLS loads CAF's OpenSSL module at run time,
# runtime/tls_library.hpp). And TLS still works that way: `claudy daemon
# certs` (run by hal9000d) makes a bundle whose files claudy accepts, and a
# mismatched key is named before CAF sees it.
#   claudy_lean_test.sh BUILD_DIR
set -u
build=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
needed=$(readelf -d "$build/claudy" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf shows no NEEDED entries for $build/claudy"
for lib in libcurl libcpp-httplib libssl libcrypto libcaf_openssl; do
  if echo "$needed" | grep -q "^$lib"; then
    fail "claudy needs $lib at start: $(echo $needed)"
  fi
done
echo "$needed" | grep -q '^libcaf_io' || fail "claudy does not link libcaf_io: $(echo $needed)"

home=$(mktemp -d /tmp/hal9000-lean-XXXXXX)
trap 'rm -rf "$home"' EXIT
HAL9000_HOME=$home "$build/claudy" daemon certs --client a --client b >/dev/null \
  || fail "claudy daemon certs failed"
[ -s "$home/tls/clients/a/cert.pem" ] || fail "no client bundle a"
# Nothing listens on this port: a good bundle gets as far as connecting (3).
port=$((20000 + RANDOM % 20000))
out=$(HAL9000_HOME=$home "$build/claudy" --host 127.0.0.1:$port --tls-dir "$home/tls/clients/a" \
  sessions 2>&1); rc=$?
[ $rc -eq 3 ] || fail "a good bundle: expected exit 3 (no daemon), got $rc: $out"
cp "$home/tls/clients/b/key.pem" "$home/tls/clients/a/key.pem"
out=$(HAL9000_HOME=$home "$build/claudy" --host 127.0.0.1:$port --tls-dir "$home/tls/clients/a" \
  sessions 2>&1); rc=$?
[ $rc -eq 2 ] || fail "a mismatched key: expected exit 2, got $rc: $out"
echo "$out" | grep -q "key values mismatch" || fail "the mismatch is not named: $out"
echo "ok: claudy needs $(echo $needed)"
