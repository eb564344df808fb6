#!/bin/sh
# Runs inside a build container that has Debian's nodejs: installs npm from the
# npm registry (pinned, sha512 checked) into /usr/local. Debian's own npm
# package drags in ~400 packages (339 MB, 3+ minutes); this is one tarball.
#   install-npm.sh VERSION SHA512-INTEGRITY
set -eu
version=$1 integrity=$2
registry=${npm_config_registry:-https://registry.npmjs.org/}
node - "$registry" "$version" "$integrity" <<'JS'
const [registry, version, integrity] = process.argv.slice(2);
const url = registry.replace(/\/?$/, "/") + `npm/-/npm-${version}.tgz`;
(async () => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const buf = Buffer.from(await res.arrayBuffer());
  const got = "sha512-" + require("crypto").createHash("sha512").update(buf).digest("base64");
  if (got !== integrity) throw new Error(`${url}: integrity ${got}, expected ${integrity}`);
  require("fs").writeFileSync("/tmp/npm.tgz", buf);
})().catch((e) => { console.error(e.message || e); process.exit(1); });
JS
install -d /usr/local/lib/node_modules/npm
tar -xzf /tmp/npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 --no-same-owner
rm -f /tmp/npm.tgz
ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
npm --version
