# shellcheck shell=bash disable=SC2034  # sourced by scripts/build-images
# hal9000/egress:local: Debian 12 (minbase) + Debian's tinyproxy, the filtering
# HTTP(S) proxy of the egress policy. It runs joined to the parent's network
# namespace (like ChromaDB) as user egress, uid 64991: the parent's packet
# filter lets only that uid leave the namespace (runtime/egress.hpp).
# Its entrypoint writes tinyproxy's configuration from HAL9000_EGRESS_ALLOW
# and HAL9000_EGRESS_PORT. Sourced by scripts/build-images.
STAGES=5

build() {
  stage "Debian base (debootstrap $HAL9000_DEBIAN_SUITE, minbase)"
  ensure_base_image
  stage "build container from $BASE_IMAGE"
  start_build_container "$BASE_IMAGE"
  stage "apt-get install tinyproxy; user egress (64991), entrypoint"
  in_build sh /recipe/setup.sh
  stage "flatten into one layer (docker export | docker import)"
  export_image 'USER egress' 'WORKDIR /' \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV HAL9000_EGRESS_PORT=8002' \
    'CMD ["/usr/local/bin/hal9000-egress-entrypoint"]'
  stage "check: tinyproxy as user egress"
  run docker run --rm --network none --label hal9000.build=egress "$TAG_HASH" sh -c \
    'set -e; test "$(id -u)" = 64991; tinyproxy -v'
}
