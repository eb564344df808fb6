#!/bin/sh
# Runs inside the worker's build container: the user, its home, /workspace and
# the idle entrypoint.
set -eu
useradd --uid 1000 --user-group --create-home --home-dir /home/claude --shell /bin/bash claude
install -d -o claude -g claude -m 0755 /workspace /home/claude/.claude
install -m 0755 /recipe/entrypoint.sh /usr/local/bin/hal9000-worker-entrypoint
# What a 'docker export' must not carry: caches, logs, machine ids.
rm -rf /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /tmp/* /root/.npm
: >/etc/machine-id
