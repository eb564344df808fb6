#!/bin/sh
# Runs inside the egress build container: tinyproxy, the user, the entrypoint.
set -eu
apt-get update -q
apt-get install -y -q --no-install-recommends tinyproxy
groupadd --system --gid 64991 egress
useradd --system --uid 64991 --gid 64991 --home-dir /nonexistent --shell /usr/sbin/nologin egress
install -d -o egress -g egress -m 0755 /run/hal9000-egress
install -m 0755 /recipe/entrypoint.sh /usr/local/bin/hal9000-egress-entrypoint
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /tmp/*
: >/etc/machine-id
