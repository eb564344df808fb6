# hal9000/parent:local: owns the network namespace that workers and ChromaDB
# join. busybox-static plus an idle entrypoint that exits on TERM at once.
# Sourced by scripts/build-images.
STAGES=2
hash_inputs=()
hash_extra() { sha256sum "$(static_busybox)"; }

build() {
  stage "busybox root + entrypoint"
  busybox_root "$WORK/root"
  install -m 0755 "$RECIPE_DIR/entrypoint.sh" "$WORK/root/entrypoint.sh"
  stage "docker import"
  run sh -c "tar -C '$WORK/root' --numeric-owner -c . | docker import --change 'CMD [\"/entrypoint.sh\"]' - '$TAG_HASH'"
}
