#!/bin/sh
# The egress policy's filtering proxy: tinyproxy on 127.0.0.1:HAL9000_EGRESS_PORT
# (inside the parent's network namespace), allowing only the host names in
# HAL9000_EGRESS_ALLOW (comma- or space-separated; "*.example.com" covers
# every subdomain; "*" allows every host). A refused request gets 403 with a
# page naming the policy and the setting. Refusals are logged to
# $HAL9000_EGRESS_LOG (the daemon reads them and reports events).
set -eu
port=${HAL9000_EGRESS_PORT:-8002}
allow=${HAL9000_EGRESS_ALLOW:-api.anthropic.com,platform.claude.com,registry.npmjs.org,github.com,*.github.com,*.githubusercontent.com}
log=${HAL9000_EGRESS_LOG:-/run/hal9000-egress/log/tinyproxy.log}
dir=/run/hal9000-egress
conf=$dir/tinyproxy.conf
filter=$dir/filter
page=$dir/refused.html

: >"$filter"
open=0
for h in $(echo "$allow" | tr ',' ' '); do
  case "$h" in
    '*') open=1 ;;
    # fnmatch patterns: "*.x" matches subdomains of x only, x itself is listed apart.
    *) printf '%s\n' "$h" >>"$filter" ;;
  esac
done

cat >"$page" <<PAGE
<html><head><title>403 refused by the hal9000 egress policy</title></head><body>
<h1>Refused by the hal9000 egress policy</h1>
<p>hal9000 egress policy: {url} is not an allowed host. Workers reach only the
hosts in HAL9000_EGRESS_ALLOW (now: $allow). To allow it, add the host to
HAL9000_EGRESS_ALLOW (or set it to * for open egress) and restart the daemon.</p>
</body></html>
PAGE

{
  echo "Port $port"
  echo "Listen 127.0.0.1"
  echo "Timeout 600"
  echo "MaxClients 200"
  echo "LogLevel Notice"
  echo "LogFile \"$log\""
  echo "DisableViaHeader Yes"
  echo "ErrorFile 403 \"$page\""
  echo "DefaultErrorFile \"$page\""
  if [ "$open" = 0 ]; then
    echo "FilterDefaultDeny Yes"
    echo "Filter \"$filter\""
    echo "FilterType fnmatch"
    echo "FilterURLs No"
    echo "FilterCaseSensitive No"
  fi
} >"$conf"

mkdir -p "$(dirname "$log")"
echo "hal9000-egress: tinyproxy on 127.0.0.1:$port, allow: $allow" >&2
exec tinyproxy -d -c "$conf"
