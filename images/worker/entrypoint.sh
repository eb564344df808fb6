#!/bin/sh
# The worker image's own command: idle cheaply, exit at once on TERM. The daemon
# replaces it with its claim script (bound read-only into every worker), which
# waits for a session and runs Claude Code in tmux in /workspace.
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $!
done
