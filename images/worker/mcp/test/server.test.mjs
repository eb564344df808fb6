// The server as Claude Code runs it (node chroma/server.mjs over stdio), driven
// by the MCP SDK's own client against a real ChromaDB at CHROMA_HOST:CHROMA_PORT
// (tests/integration/chroma_mcp_node_test.sh starts one). Without CHROMA_PORT
// the test is skipped, and says why.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const serverPath = fileURLToPath(new URL("../chroma/server.mjs", import.meta.url));
const host = process.env.CHROMA_HOST || "127.0.0.1";
const port = process.env.CHROMA_PORT;
const skip = port ? false : "CHROMA_PORT is not set: no ChromaDB to test against";

// Waits until ChromaDB answers its heartbeat, up to a deadline (no fixed sleeps).
async function waitForChroma(deadlineMs) {
  const end = Date.now() + deadlineMs;
  let last;
  while (Date.now() < end) {
    try {
      const r = await fetch(`http://${host}:${port}/api/v2/heartbeat`);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ChromaDB at ${host}:${port} did not answer within ${deadlineMs} ms (${last})`);
}

async function connect(env) {
  const client = new Client({ name: "hal9000-test", version: "0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [serverPath],
    env: { PATH: process.env.PATH, ...env },
    stderr: "pipe",
  });
  await client.connect(transport);
  return client;
}

// A tool call's JSON answer; fails the test on an error answer.
async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.ok(!r.isError, `${name}: ${r.content?.[0]?.text}`);
  return JSON.parse(r.content[0].text);
}

describe("hal9000 chroma MCP server", { skip }, () => {
  let client;
  const name = `hal9000-test-${randomUUID().slice(0, 8)}`;

  before(async () => {
    await waitForChroma(60_000);
    client = await connect({ CHROMA_HOST: host, CHROMA_PORT: port });
  });
  after(async () => {
    if (client) {
      await client.callTool({ name: "chroma_delete_collection", arguments: { name } }).catch(() => {});
      await client.close();
    }
  });

  test("offers every tool", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      "chroma_add_documents", "chroma_collection_info", "chroma_create_collection",
      "chroma_delete_collection", "chroma_delete_documents", "chroma_get_documents",
      "chroma_list_collections", "chroma_query_documents", "chroma_update_documents",
    ]);
  });

  test("create, add, query, get, update, delete", async () => {
    const created = await call(client, "chroma_create_collection", { name, metadata: { owner: "test" } });
    assert.equal(created.metadata.hal9000_embedding, "hal9000-hashed-bow-v1");
    assert.equal(created.metadata.owner, "test");

    const listed = await call(client, "chroma_list_collections", {});
    const mine = listed.find((c) => c.name === name);
    assert.ok(mine?.text_search, JSON.stringify(listed));

    await call(client, "chroma_add_documents", {
      collection: name,
      ids: ["pool", "chroma", "tls"],
      documents: [
        "The pool scaler keeps warm workers ready and refills the pool after every claim.",
        "ChromaDB runs in the parent's network namespace and stores embeddings on a volume.",
        "Remote control needs mutual TLS with client certificates from the daemon's CA.",
      ],
      metadatas: [{ topic: "pool", year: 2024 }, { topic: "chroma", year: 2025 }, { topic: "security", year: 2026 }],
    });
    assert.equal((await call(client, "chroma_collection_info", { name })).count, 3);

    const [q] = await call(client, "chroma_query_documents", {
      collection: name, query_texts: ["how are warm workers refilled in the pool"], n_results: 3,
    });
    assert.equal(q.results[0].id, "pool", JSON.stringify(q));
    assert.ok(q.results[0].distance < q.results[1].distance);

    const [filtered] = await call(client, "chroma_query_documents", {
      collection: name, query_texts: ["warm workers pool"], where: { year: { $gte: 2025 } },
    });
    assert.deepEqual(filtered.results.map((r) => r.id).sort(), ["chroma", "tls"]);

    const got = await call(client, "chroma_get_documents", { collection: name, where: { topic: "security" } });
    assert.deepEqual(got.map((d) => d.id), ["tls"]);
    const byText = await call(client, "chroma_get_documents", { collection: name, where_document: { $contains: "namespace" } });
    assert.deepEqual(byText.map((d) => d.id), ["chroma"]);

    await call(client, "chroma_update_documents", {
      collection: name, ids: ["tls"], documents: ["Sessions persist their records atomically on disk."],
      metadatas: [{ topic: "store", year: 2026 }],
    });
    const [q2] = await call(client, "chroma_query_documents", {
      collection: name, query_texts: ["records persisted atomically"], n_results: 1,
    });
    assert.equal(q2.results[0].id, "tls");
    assert.equal(q2.results[0].metadata.topic, "store");

    assert.equal((await call(client, "chroma_delete_documents", { collection: name, where: { topic: "store" } })).deleted, 1);
    assert.equal((await call(client, "chroma_delete_documents", { collection: name, ids: ["pool"] })).deleted, 1);
    assert.equal((await call(client, "chroma_collection_info", { name })).count, 1);

    await call(client, "chroma_delete_collection", { name });
    assert.ok(!(await call(client, "chroma_list_collections", {})).some((c) => c.name === name));
  });

  test("bad input and foreign collections get clear errors", async () => {
    const missing = await client.callTool({ name: "chroma_get_documents", arguments: { collection: `${name}-none` } });
    assert.ok(missing.isError);
    const uneven = await client.callTool({
      name: "chroma_add_documents", arguments: { collection: name, documents: ["a", "b"], ids: ["1"] },
    });
    assert.ok(uneven.isError);
    assert.match(uneven.content[0].text, /ids: 1 given for 2 documents|does not exist|not found/i);

    // A collection made without our embedding: readable, but no text in or out.
    const foreign = `${name}-foreign`;
    const r = await fetch(`http://${host}:${port}/api/v2/tenants/default_tenant/databases/default_database/collections`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: foreign }),
    });
    assert.ok(r.ok, `create ${foreign}: HTTP ${r.status}`);
    try {
      const q = await client.callTool({ name: "chroma_query_documents", arguments: { collection: foreign, query_texts: ["x"] } });
      assert.ok(q.isError);
      assert.match(q.content[0].text, /hal9000-hashed-bow-v1/);
      assert.deepEqual(await call(client, "chroma_get_documents", { collection: foreign }), []);
    } finally {
      await call(client, "chroma_delete_collection", { name: foreign });
    }
  });

  test("a ChromaDB that does not answer is named in the error; the server keeps answering", async () => {
    const down = await connect({ CHROMA_HOST: "127.0.0.1", CHROMA_PORT: "1" });
    try {
      const r = await down.callTool({ name: "chroma_list_collections", arguments: {} });
      assert.ok(r.isError);
      assert.match(r.content[0].text, /ChromaDB at http:\/\/127\.0\.0\.1:1 is not reachable/);
      assert.ok((await down.listTools()).tools.length > 0);
    } finally {
      await down.close();
    }
  });
});
