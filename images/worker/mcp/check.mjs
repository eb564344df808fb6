#!/usr/bin/env node
// Whether each MCP server a worker offers answers, as Claude Code would start
// it: spawned over stdio from an MCP configuration, MCP handshake, tools/list;
// for the ChromaDB server also one chroma_list_collections (ChromaDB itself).
//   node check.mjs [CONFIG]   CONFIG: an mcpServers JSON file (default
//                             /etc/claude-code/managed-mcp.json); "--builtin"
//                             checks this directory's servers without ChromaDB
//                             (the image build's check).
// Prints one JSON object per server: {"name", "ok", "ms", "tools", "detail"}.
// Exit: 0 all answer, 1 one does not, 2 no or unreadable configuration.
// Each server gets 10 s.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = process.argv[2] ?? "/etc/claude-code/managed-mcp.json";
const TIMEOUT_MS = 10_000;

function builtin() {
  const node = process.execPath;
  return {
    chromadb: { command: node, args: [path.join(here, "chroma/server.mjs")], env: {}, skipBackend: true },
    "memory-bank": {
      command: node,
      args: [path.join(here, "node_modules/@allpepper/memory-bank-mcp/dist/main/index.js")],
      env: { MEMORY_BANK_ROOT: "/tmp" },
    },
    "sequential-thinking": {
      command: node,
      args: [path.join(here, "node_modules/@modelcontextprotocol/server-sequential-thinking/dist/index.js")],
      env: {},
    },
  };
}

function load() {
  if (arg === "--builtin") return builtin();
  let cfg;
  try {
    cfg = JSON.parse(readFileSync(arg, "utf8"));
  } catch (e) {
    console.error(`check: cannot read ${arg}: ${e.message}`);
    process.exit(2);
  }
  if (!cfg?.mcpServers || typeof cfg.mcpServers !== "object") {
    console.error(`check: ${arg} has no mcpServers object`);
    process.exit(2);
  }
  return cfg.mcpServers;
}

async function check(name, s) {
  const t0 = performance.now();
  const result = { name, ok: false, ms: 0, tools: 0, detail: "" };
  const client = new Client({ name: "hal9000-check", version: "1" });
  const transport = new StdioClientTransport({
    command: s.command,
    args: s.args ?? [],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...(s.env ?? {}) },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => { stderr = (stderr + d).slice(-400); });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect(transport);
        const { tools } = await client.listTools();
        let detail = `${tools.length} tools`;
        if (tools.some((t) => t.name === "chroma_list_collections") && !s.skipBackend) {
          const r = await client.callTool({ name: "chroma_list_collections", arguments: {} });
          if (r.isError) throw new Error(r.content?.[0]?.text ?? "chroma_list_collections failed");
          detail += `; ChromaDB answers (${JSON.parse(r.content[0].text).length} collections)`;
        }
        return { tools: tools.length, detail };
      })().then((r) => Object.assign(result, r)),
      timeout,
    ]);
    result.ok = true;
  } catch (e) {
    result.ok = false;
    result.detail = (e?.message || String(e)) + (stderr.trim() ? ` (stderr: ${stderr.trim()})` : "");
  } finally {
    clearTimeout(timer);
    result.ms = Math.round(performance.now() - t0);
    await client.close().catch(() => {});
  }
  return result;
}

const servers = load();
const results = await Promise.all(Object.entries(servers).map(([n, s]) => check(n, s)));
for (const r of results) console.log(JSON.stringify(r));
process.exit(results.every((r) => r.ok) ? 0 : 1);
