#!/bin/sh
# Runs inside the chromadb build container: the pinned server into /opt/chromadb.
set -eu
install -d /opt/chromadb
cp /recipe/package.json /recipe/package-lock.json /opt/chromadb/
cd /opt/chromadb
npm ci --no-fund --no-audit --omit=dev
# The bindings ship with debug info: 437 MB, 55 MB stripped.
find node_modules -name '*.node' -exec strip --strip-debug {} +
npm cache clean --force
rm -rf /root/.npm
