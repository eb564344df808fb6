# shellcheck shell=bash disable=SC2034  # sourced by scripts/build-images
# The Debian base shared by the worker and chromadb images: debootstrap
# --variant=minbase bookworm from Debian's mirror, nothing else. Sourced by
# scripts/images/lib.sh; its hash covers this directory only, so editing the
# build scripts does not re-run debootstrap.

# The debootstrap'ed rootfs as an image, hal9000/base:r-<hash>. The tarball is
# cached in CACHE_DIR so a removed image is re-imported, not re-bootstrapped.
ensure_base_image() {
  local hash tag tarball
  hash=$(recipe_hash images/base </dev/null)
  tag=hal9000/base:r-$hash
  tarball=$CACHE_DIR/base-$hash.tar
  BASE_IMAGE=$tag
  image_exists "$tag" && return
  if [ ! -s "$tarball" ]; then
    local rootfs=$WORK/base-rootfs
    run debootstrap --variant=minbase --components=main \
      "$HAL9000_DEBIAN_SUITE" "$rootfs" "$HAL9000_DEBIAN_MIRROR" || return
    # Security and point-release updates come from the same mirror.
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $HAL9000_DEBIAN_MIRROR $HAL9000_DEBIAN_SUITE main
deb $HAL9000_DEBIAN_MIRROR $HAL9000_DEBIAN_SUITE-updates main
deb ${HAL9000_DEBIAN_MIRROR%/debian}/debian-security $HAL9000_DEBIAN_SUITE-security main
EOF
    # Keep images small: no docs, man pages or locales from later installs.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-hal9000-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
      >"$rootfs/etc/apt/apt.conf.d/01-hal9000-norecommends"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    mkdir -p "$CACHE_DIR"
    run tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . || return
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  run docker import --change 'CMD ["/bin/bash"]' "$tarball" "$tag"
}
