#!/bin/sh
# Runs inside the chromadb build container: the user, the data dir, the
# entrypoint, and out with what was needed to build only.
set -eu
useradd --system --user-group --home-dir /opt/chromadb --shell /usr/sbin/nologin chroma
install -d -o chroma -g chroma -m 0750 /data/chromadb
install -m 0755 /recipe/entrypoint.sh /usr/local/bin/hal9000-chromadb-entrypoint
apt-get purge -y -q --autoremove binutils
rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /root/.npm
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /tmp/*
: >/etc/machine-id
