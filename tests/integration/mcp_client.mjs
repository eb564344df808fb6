// Drives the MCP servers of a worker the way Claude Code does: each started
// from the worker's managed MCP configuration (/etc/claude-code/managed-mcp.json)
// over stdio, through the MCP SDK's own client. Run inside a worker, as
//   docker exec -i -w /opt/hal9000-mcp NAME node --input-type=module - MODE ARGS... < mcp_client.mjs
// (the working directory makes the image's node_modules resolve). Modes:
//   chroma COLLECTION                  create it, add three documents, query;
//                                      prints {"nearest", "ids", "count"}
//   chroma-bench COLLECTION N           N queries; prints {"ms": [...]}; the
//                                      collection is deleted afterwards
//   mb-write PROJECT FILE CONTENT      memory_bank_write; prints the answer
//   mb-read PROJECT FILE               memory_bank_read; prints {"content"}
// Exit 0 on success, 1 with the reason on stderr.
import { readFileSync } from "node:fs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [mode, ...args] = process.argv.slice(2);
const servers = JSON.parse(readFileSync("/etc/claude-code/managed-mcp.json", "utf8")).mcpServers;

async function connect(name) {
  const s = servers[name];
  if (!s) throw new Error(`no server '${name}' in managed-mcp.json`);
  const client = new Client({ name: "hal9000-test-client", version: "1" });
  await client.connect(new StdioClientTransport({
    command: s.command, args: s.args ?? [], env: { PATH: process.env.PATH, ...(s.env ?? {}) },
  }));
  return client;
}

async function call(client, name, a) {
  const r = await client.callTool({ name, arguments: a });
  const text = r.content?.[0]?.text ?? "";
  if (r.isError) throw new Error(`${name}: ${text}`);
  return text;
}

const docs = {
  ids: ["warm-pool", "chroma-parent", "mutual-tls"],
  documents: [
    "Warm workers wait in the pool; a claim bind-mounts the project and the pool refills.",
    "ChromaDB runs beside the parent container and keeps its embeddings on a shared volume.",
    "A remote claudy needs mutual TLS and a client certificate signed by the daemon's CA.",
  ],
  metadatas: [{ topic: "pool" }, { topic: "chroma" }, { topic: "security" }],
};

async function main() {
  if (mode === "chroma" || mode === "chroma-bench") {
    const [collection, n] = args;
    const c = await connect("chromadb");
    try {
      await call(c, "chroma_create_collection", { name: collection });
      await call(c, "chroma_add_documents", { collection, ...docs });
      const query = { collection, query_texts: ["how does the pool refill warm workers after a claim"], n_results: 3 };
      if (mode === "chroma") {
        const [q] = JSON.parse(await call(c, "chroma_query_documents", query));
        const info = JSON.parse(await call(c, "chroma_collection_info", { name: collection }));
        console.log(JSON.stringify({ nearest: q.results[0].id, ids: q.results.map((r) => r.id), count: info.count }));
        return;
      }
      const ms = [];
      for (let i = 0; i < Number(n); i++) {
        const t0 = performance.now();
        await call(c, "chroma_query_documents", query);
        ms.push(performance.now() - t0);
      }
      await call(c, "chroma_delete_collection", { name: collection });
      console.log(JSON.stringify({ ms }));
    } finally {
      await c.close();
    }
    return;
  }
  if (mode === "mb-write" || mode === "mb-read") {
    const [projectName, fileName, content] = args;
    const c = await connect("memory-bank");
    try {
      if (mode === "mb-write")
        console.log(JSON.stringify({ answer: await call(c, "memory_bank_write", { projectName, fileName, content }) }));
      else
        console.log(JSON.stringify({ content: await call(c, "memory_bank_read", { projectName, fileName }) }));
    } finally {
      await c.close();
    }
    return;
  }
  throw new Error(`unknown mode '${mode}'`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e?.message || String(e));
  process.exit(1);
});
