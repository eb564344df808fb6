#!/bin/sh
# The parent image's default command: idles (the network-namespace owner);
# TERM (docker stop) ends it at once. `claudy daemon start` runs
# `hal9000d run` in this image instead.
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $!
done
