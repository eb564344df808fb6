# shellcheck shell=bash disable=SC2034  # sourced by scripts/build-images
# hal9000/chromadb:local: Debian 12 (minbase) + Node.js + the ChromaDB server
# pinned by package.json/package-lock.json here (chromadb 3.0.9 with bindings
# 1.0.5: newer bindings need glibc 2.38). Runs as user chroma; serves on
# CHROMADB_HOST:CHROMADB_PORT with data in CHROMADB_DATA_DIR.
# Sourced by scripts/build-images.
STAGES=8

build() {
  stage "Debian base (debootstrap $HAL9000_DEBIAN_SUITE, minbase)"
  ensure_base_image
  stage "build container from $BASE_IMAGE"
  start_build_container "$BASE_IMAGE"
  # npm and binutils (strip) are needed to build only; removed below.
  stage "apt-get install nodejs (+ binutils to build)"
  in_build sh -c 'apt-get update -q &&
    apt-get install -y -q --no-install-recommends nodejs binutils'
  stage "npm $NPM_VERSION from the registry (to build)"
  in_build sh /build-lib/install-npm.sh "$NPM_VERSION" "$NPM_INTEGRITY"
  stage "npm ci chromadb into /opt/chromadb; strip the bindings' debug info"
  in_build sh /recipe/install-server.sh
  stage "user chroma, data dir, entrypoint; drop build tools"
  in_build sh /recipe/setup-user.sh
  stage "flatten into one layer (docker export | docker import)"
  export_image 'USER chroma' 'WORKDIR /opt/chromadb' \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV CHROMADB_HOST=0.0.0.0' 'ENV CHROMADB_PORT=8000' \
    'ENV CHROMADB_DATA_DIR=/data/chromadb' 'EXPOSE 8000' \
    'CMD ["/usr/local/bin/hal9000-chromadb-entrypoint"]'
  stage "check: chroma starts as user chroma"
  run docker run --rm --network none --label hal9000.build=chromadb "$TAG_HASH" sh -c \
    'set -e; test "$(id -un)" = chroma; test -w "$CHROMADB_DATA_DIR";
     node -e "require(\"/opt/chromadb/node_modules/chromadb-js-bindings-linux-x64-gnu\")"'
}
