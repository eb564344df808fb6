# shellcheck shell=bash disable=SC2034  # sourced by scripts/build-images
# hal9000/worker:local: Debian 12 (minbase) + Node.js + Claude Code (pinned) +
# tmux + git + the MCP servers of mcp/ in /opt/hal9000-mcp (pinned by its
# lockfile: Memory Bank, sequential thinking, our ChromaDB server), user claude
# (uid 1000), /workspace. Which servers Claude Code starts, and where ChromaDB
# is, the daemon says in the managed-mcp.json it binds into every worker
# (runtime/mcp_config.hpp) when the image carries the label hal9000.mcp: nothing
# about ports is baked in. Its own command only idles:
# the daemon binds its claim script into every worker and runs that instead.
# Sourced by scripts/build-images.
STAGES=10
CLAUDE_CODE_VERSION=2.1.197  # newest that accepts Debian 12's Node.js 18

build() {
  stage "Debian base (debootstrap $HAL9000_DEBIAN_SUITE, minbase)"
  ensure_base_image
  stage "build container from $BASE_IMAGE"
  start_build_container "$BASE_IMAGE"
  stage "apt-get install nodejs tmux git ca-certificates procps"
  in_build sh -c 'apt-get update -q &&
    apt-get install -y -q --no-install-recommends nodejs tmux git ca-certificates procps less &&
    apt-get clean && rm -rf /var/lib/apt/lists/*'
  stage "npm $NPM_VERSION from the registry"
  in_build sh /build-lib/install-npm.sh "$NPM_VERSION" "$NPM_INTEGRITY"
  stage "npm install -g @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION"
  in_build sh -c "npm install -g --no-fund --no-audit --omit=dev @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION &&
    npm cache clean --force && rm -rf /root/.npm /tmp/*"
  stage "MCP servers: npm ci mcp/ into /opt/hal9000-mcp"
  in_build sh /recipe/install-mcp.sh
  stage "user claude, /workspace, entrypoint"
  in_build sh /recipe/setup-user.sh
  stage "flatten into one layer (docker export | docker import)"
  export_image 'USER claude' 'WORKDIR /workspace' \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV HOME=/home/claude' 'ENV LANG=C.UTF-8' 'ENV DISABLE_AUTOUPDATER=1' \
    'LABEL hal9000.mcp=/opt/hal9000-mcp' \
    'CMD ["/usr/local/bin/hal9000-worker-entrypoint"]'
  stage "check: claude --version as user claude"
  run docker run --rm --network none --label hal9000.build=worker "$TAG_HASH" sh -c \
    'set -e; test "$(id -un)" = claude; test "$(pwd)" = /workspace; claude --version'
  stage "check: each MCP server answers the MCP handshake"
  run docker run --rm --network none --label hal9000.build=worker "$TAG_HASH" \
    node /opt/hal9000-mcp/check.mjs --builtin
}
