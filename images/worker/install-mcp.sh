#!/bin/sh
# Runs inside the worker's build container: the MCP servers, exactly as
# mcp/package-lock.json pins them, into /opt/hal9000-mcp (root-owned, read-only
# to sessions). --omit=optional leaves out chromadb's native server bindings:
# the worker needs only its HTTP client. Nothing is fetched when a session starts.
set -eu
install -d /opt/hal9000-mcp
cp /recipe/mcp/package.json /recipe/mcp/package-lock.json /recipe/mcp/check.mjs /opt/hal9000-mcp/
cp -r /recipe/mcp/chroma /opt/hal9000-mcp/chroma
cd /opt/hal9000-mcp
npm ci --no-fund --no-audit --omit=dev --omit=optional
chmod -R a+rX,go-w /opt/hal9000-mcp
# Where the daemon binds managed-mcp.json; the Memory Bank's mount point, open
# to every session's user (a fresh volume takes this directory's mode).
install -d -m 0755 /etc/claude-code
install -d -m 1777 /data/membank
npm cache clean --force
rm -rf /root/.npm /tmp/*
