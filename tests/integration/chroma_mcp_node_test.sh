#!/usr/bin/env bash
# ctest: chroma_mcp_node_test. The worker image's ChromaDB MCP server's own
# tests (images/worker/mcp/test, node's test runner) against a real ChromaDB:
# a hal9000/chromadb:local container with no network but its loopback, and the
# tests in a hal9000/worker:local container joined to that namespace, with
# this checkout's server and tests bound over the image's copies (its pinned
# node_modules resolve them). Exit 77 (skipped) when an image is missing.
set -euo pipefail
src=$(cd "$(dirname "$0")/../../images/worker/mcp" && pwd)
for image in hal9000/chromadb:local hal9000/worker:local; do
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    echo "SKIP: image $image is missing: run scripts/build-images" >&2
    exit 77
  fi
done
if ! docker run --rm --network none --entrypoint test hal9000/worker:local -d /opt/hal9000-mcp/node_modules; then
  echo "SKIP: hal9000/worker:local has no MCP servers: run scripts/build-images worker" >&2
  exit 77
fi
name=hal9000-test-chroma-mcp-$$-$RANDOM
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run -d --name "$name" --label hal9000.test=chroma-mcp-node --network none \
  hal9000/chromadb:local >/dev/null
# The tests wait for ChromaDB's heartbeat themselves (with a deadline).
docker run --rm --label hal9000.test=chroma-mcp-node --network "container:$name" \
  -v "$src/chroma:/opt/hal9000-mcp/chroma:ro" -v "$src/test:/opt/hal9000-mcp/test:ro" \
  -e CHROMA_HOST=127.0.0.1 -e CHROMA_PORT=8000 -w /opt/hal9000-mcp \
  hal9000/worker:local node --test test/
