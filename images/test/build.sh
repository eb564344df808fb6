# hal9000/test:busybox: busybox-static in a scratch image, every applet linked
# in /bin, for fast tests. Sourced by scripts/build-images.
STAGES=2
hash_inputs=()
hash_extra() { sha256sum "$(static_busybox)"; }

build() {
  stage "busybox root (every applet in /bin)"
  busybox_root "$WORK/root"
  stage "docker import"
  run sh -c "tar -C '$WORK/root' --numeric-owner -c . | docker import --change 'CMD [\"/bin/sh\"]' - '$TAG_HASH'"
}
