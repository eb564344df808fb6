#!/bin/sh
# spawn-worker.sh: the reference's worker command, kept for its examples:
#   spawn-worker.sh --memory 8g --cpus 4 /path/to/project
#   spawn-worker.sh --no-limits /path/to/project
# A thin wrapper: the same flags go to `claudy --via-parent --detach`, which
# starts the session in the background and prints how to attach to it.
set -eu

case "${1:-}" in
  -h|--help)
    echo "usage: spawn-worker.sh [--memory M] [--cpus C] [--pids-limit P] [--no-limits] [--name N] PATH"
    echo "Starts a detached session on PATH (claudy --via-parent --detach ...)."
    exit 0 ;;
esac

# claudy next to this script (an install or the build tree), else on PATH.
here=$(dirname "$0")
if [ -x "$here/claudy" ]; then
  claudy="$here/claudy"
elif [ -x "$here/../build/claudy" ]; then
  claudy="$here/../build/claudy"
else
  claudy=claudy
fi
exec "$claudy" --via-parent --detach "$@"
