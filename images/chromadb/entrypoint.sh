#!/bin/sh
# Serves ChromaDB on CHROMADB_HOST:CHROMADB_PORT with data in CHROMADB_DATA_DIR.
# The shell stays as the parent so TERM stops the server at once even when it
# runs as PID 1 without --init (a PID 1 ignores signals it does not handle).
set -eu
host=${CHROMADB_HOST:-0.0.0.0}
port=${CHROMADB_PORT:-8000}
data=${CHROMADB_DATA_DIR:-/data/chromadb}
# Started as root (the daemon does, with CHOWN, SETUID and SETGID only): a
# fresh volume at a data dir the image lacks is root's, so hand its top to
# chroma, then run as chroma for good. The image's own user is chroma, so a
# plain `docker run` never takes this path.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$data"
  if [ "$(stat -c %u "$data")" != "$(id -u chroma)" ]; then
    chmod 0750 "$data"
    chown chroma:chroma "$data"
  fi
  exec setpriv --reuid=chroma --regid=chroma --init-groups --inh-caps=-all \
    env HOME=/opt/chromadb "$0" "$@"
fi
if ! mkdir -p "$data" 2>/dev/null || [ ! -w "$data" ]; then
  echo "hal9000-chromadb: data dir $data is not writable by $(id -un) (uid $(id -u))" >&2
  exit 1
fi
/opt/chromadb/node_modules/.bin/chroma run --host "$host" --port "$port" --path "$data" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT
set +e
wait "$server"
rc=$?
# wait returns early when a trapped signal arrives: wait for the server itself.
if kill -0 "$server" 2>/dev/null; then
  wait "$server"
  rc=$?
fi
exit "$rc"
