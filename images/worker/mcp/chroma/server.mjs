#!/usr/bin/env node
// hal9000's ChromaDB MCP server (stdio): what an agent needs of the shared
// ChromaDB that every worker reaches at localhost:CHROMADB_PORT.
//
// Tools (arguments in the tool schemas below; every answer is JSON text):
//   chroma_list_collections   names, metadata, whether text can be used
//   chroma_create_collection  a collection embedded by hal9000-hashed-bow-v1
//   chroma_delete_collection
//   chroma_collection_info    count and metadata of one collection
//   chroma_add_documents      documents (+ ids, metadatas); ids made when absent
//   chroma_update_documents   documents and/or metadatas by id
//   chroma_delete_documents   by ids and/or a metadata filter
//   chroma_get_documents      by ids, metadata filter, document filter; paged
//   chroma_query_documents    nearest documents to query texts, with filters
//
// Environment: CHROMA_HOST (default 127.0.0.1), CHROMA_PORT (default 8000).
// Embeddings are computed here (embedding.mjs): no model, no network beyond
// ChromaDB. A ChromaDB that is down makes tools fail with a message that says
// where it was looked for; the server itself keeps answering.
//
// stdout carries the MCP protocol only: console.log goes to stderr.

import { randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import * as z from "zod";

import {
  EMBEDDING_DIM,
  EMBEDDING_NAME,
  HashedBagOfWords,
  embed,
  embeddingMetadata,
  embeddingMismatch,
} from "./embedding.mjs";

export const SERVER_NAME = "hal9000-chroma";
export const SERVER_VERSION = "1.0.0";

const metaValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const metadata = z.record(z.string(), metaValue);
// Chroma's filter languages, passed through as given (Chroma validates them):
// where {"field": value} or {"field": {"$gt": 3}}, {"$and": [...]};
// where_document {"$contains": "text"}.
const where = z.record(z.string(), z.any())
  .describe('metadata filter, Chroma syntax: {"topic": "build"}, {"year": {"$gte": 2020}}, {"$and": [...]}');
const whereDocument = z.record(z.string(), z.any())
  .describe('document filter, Chroma syntax: {"$contains": "text"}, {"$not_contains": "text"}');
const collectionName = z.string().min(3).max(512)
  .describe("collection name (3-512 characters: letters, digits, . _ -; starts and ends with a letter or digit)");

/** Settings from the environment (CHROMA_HOST, CHROMA_PORT). */
export function settingsFromEnv(env = process.env) {
  const port = Number(env.CHROMA_PORT ?? 8000);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`CHROMA_PORT must be a port number (1-65535), got '${env.CHROMA_PORT}'`);
  return { host: env.CHROMA_HOST || "127.0.0.1", port };
}

function text(value) {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

function failure(message) {
  return { content: [{ type: "text", text: message }], isError: true };
}

/**
 * A McpServer with the tools above, talking to ChromaDB at host:port. The
 * chromadb client is loaded on first use, so the server answers the MCP
 * handshake without waiting for it.
 */
export function createChromaServer({ host, port }) {
  const where_ = `ChromaDB at http://${host}:${port}`;
  const ef = new HashedBagOfWords(EMBEDDING_DIM);
  let clientPromise;
  const client = () => {
    clientPromise ??= import("chromadb").then(({ ChromaClient }) => new ChromaClient({ host, port, ssl: false }));
    return clientPromise;
  };

  // A collection, checked to hold our embedding when text goes in or is queried.
  async function collection(name, { needsEmbedding = false } = {}) {
    const c = await (await client()).getCollection({ name, embeddingFunction: ef });
    if (needsEmbedding) {
      const why = embeddingMismatch(name, c.metadata);
      if (why) throw new Error(why);
    }
    return c;
  }

  // Runs a tool body; errors become an isError answer naming the cause.
  const guard = (fn) => async (args) => {
    try {
      return text(await fn(args));
    } catch (e) {
      const msg = e?.message || String(e);
      const conn = /fetch failed|ECONNREFUSED|connect|network/i.test(msg + (e?.cause?.message ?? ""));
      return failure(conn ? `${where_} is not reachable: ${msg}` : msg);
    }
  };

  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION });

  server.registerTool("chroma_list_collections", {
    title: "List ChromaDB collections",
    description: "Lists the collections in the shared ChromaDB (shared by every session and project), with their metadata and whether text can be added and queried here.",
    inputSchema: {
      limit: z.number().int().min(1).max(1000).optional().describe("at most this many (default 100)"),
      offset: z.number().int().min(0).optional().describe("skip this many (default 0)"),
    },
  }, guard(async ({ limit, offset }) => {
    const cs = await (await client()).listCollections({ limit: limit ?? 100, offset: offset ?? 0 });
    return cs.map((c) => ({
      name: c.name,
      metadata: c.metadata ?? null,
      text_search: embeddingMismatch(c.name, c.metadata) === "",
    }));
  }));

  server.registerTool("chroma_create_collection", {
    title: "Create a ChromaDB collection",
    description: `Creates a collection in the shared ChromaDB, embedded by ${EMBEDDING_NAME} (model-free, the same in every session). Fails if it exists.`,
    inputSchema: {
      name: collectionName,
      metadata: metadata.optional().describe("collection metadata (strings, numbers, booleans)"),
    },
  }, guard(async ({ name, metadata: md }) => {
    const c = await (await client()).createCollection({
      name,
      metadata: { ...(md ?? {}), ...embeddingMetadata() },
      embeddingFunction: ef,
    });
    return { created: c.name, id: c.id, metadata: c.metadata };
  }));

  server.registerTool("chroma_delete_collection", {
    title: "Delete a ChromaDB collection",
    description: "Deletes a collection and every document in it, for every session.",
    inputSchema: { name: collectionName },
  }, guard(async ({ name }) => {
    await (await client()).deleteCollection({ name });
    return { deleted: name };
  }));

  server.registerTool("chroma_collection_info", {
    title: "Describe a ChromaDB collection",
    description: "How many documents a collection holds, its metadata and embedding.",
    inputSchema: { name: collectionName },
  }, guard(async ({ name }) => {
    const c = await collection(name);
    return {
      name: c.name,
      id: c.id,
      count: await c.count(),
      metadata: c.metadata ?? null,
      text_search: embeddingMismatch(c.name, c.metadata) === "",
    };
  }));

  server.registerTool("chroma_add_documents", {
    title: "Add documents to a ChromaDB collection",
    description: "Adds documents (text), each with an optional id and metadata. Ids are generated when not given; an existing id is an error (use chroma_update_documents).",
    inputSchema: {
      collection: collectionName,
      documents: z.array(z.string()).min(1).max(1000),
      ids: z.array(z.string().min(1)).optional().describe("one per document"),
      metadatas: z.array(metadata).optional().describe("one per document"),
    },
  }, guard(async ({ collection: name, documents, ids, metadatas }) => {
    if (ids && ids.length !== documents.length)
      throw new Error(`ids: ${ids.length} given for ${documents.length} documents`);
    if (metadatas && metadatas.length !== documents.length)
      throw new Error(`metadatas: ${metadatas.length} given for ${documents.length} documents`);
    const c = await collection(name, { needsEmbedding: true });
    const useIds = ids ?? documents.map(() => randomUUID());
    await c.add({
      ids: useIds,
      documents,
      embeddings: documents.map((d) => embed(d)),
      ...(metadatas ? { metadatas } : {}),
    });
    return { added: useIds.length, ids: useIds };
  }));

  server.registerTool("chroma_update_documents", {
    title: "Update documents in a ChromaDB collection",
    description: "Replaces the text and/or metadata of existing documents, by id.",
    inputSchema: {
      collection: collectionName,
      ids: z.array(z.string().min(1)).min(1).max(1000),
      documents: z.array(z.string()).optional().describe("new text, one per id"),
      metadatas: z.array(metadata).optional().describe("new metadata, one per id"),
    },
  }, guard(async ({ collection: name, ids, documents, metadatas }) => {
    if (!documents && !metadatas) throw new Error("give documents, metadatas or both");
    for (const [k, v] of [["documents", documents], ["metadatas", metadatas]])
      if (v && v.length !== ids.length) throw new Error(`${k}: ${v.length} given for ${ids.length} ids`);
    const c = await collection(name, { needsEmbedding: Boolean(documents) });
    await c.update({
      ids,
      ...(documents ? { documents, embeddings: documents.map((d) => embed(d)) } : {}),
      ...(metadatas ? { metadatas } : {}),
    });
    return { updated: ids.length };
  }));

  server.registerTool("chroma_delete_documents", {
    title: "Delete documents from a ChromaDB collection",
    description: "Deletes documents by id, by metadata filter, or both (at least one).",
    inputSchema: {
      collection: collectionName,
      ids: z.array(z.string().min(1)).optional(),
      where: where.optional(),
    },
  }, guard(async ({ collection: name, ids, where: w }) => {
    if (!ids?.length && !w) throw new Error("give ids, where or both (deleting everything is chroma_delete_collection)");
    const c = await collection(name);
    const before = await c.count();
    await c.delete({ ...(ids?.length ? { ids } : {}), ...(w ? { where: w } : {}) });
    return { deleted: before - (await c.count()) };
  }));

  server.registerTool("chroma_get_documents", {
    title: "Get documents from a ChromaDB collection",
    description: "Reads documents by id and/or filters, with their metadata; paged by limit and offset.",
    inputSchema: {
      collection: collectionName,
      ids: z.array(z.string().min(1)).optional(),
      where: where.optional(),
      where_document: whereDocument.optional(),
      limit: z.number().int().min(1).max(1000).optional().describe("default 100"),
      offset: z.number().int().min(0).optional(),
    },
  }, guard(async ({ collection: name, ids, where: w, where_document: wd, limit, offset }) => {
    const c = await collection(name);
    const r = await c.get({
      ...(ids?.length ? { ids } : {}),
      ...(w ? { where: w } : {}),
      ...(wd ? { whereDocument: wd } : {}),
      limit: limit ?? 100,
      offset: offset ?? 0,
      include: ["documents", "metadatas"],
    });
    return r.ids.map((id, i) => ({ id, document: r.documents[i] ?? null, metadata: r.metadatas[i] ?? null }));
  }));

  server.registerTool("chroma_query_documents", {
    title: "Query a ChromaDB collection by text",
    description: "The documents nearest to each query text (smaller distance = closer), optionally only those matching a metadata or document filter.",
    inputSchema: {
      collection: collectionName,
      query_texts: z.array(z.string().min(1)).min(1).max(100),
      n_results: z.number().int().min(1).max(100).optional().describe("per query (default 5)"),
      where: where.optional(),
      where_document: whereDocument.optional(),
    },
  }, guard(async ({ collection: name, query_texts, n_results, where: w, where_document: wd }) => {
    const c = await collection(name, { needsEmbedding: true });
    const r = await c.query({
      queryEmbeddings: query_texts.map((q) => embed(q)),
      nResults: n_results ?? 5,
      ...(w ? { where: w } : {}),
      ...(wd ? { whereDocument: wd } : {}),
      include: ["documents", "metadatas", "distances"],
    });
    return query_texts.map((q, qi) => ({
      query: q,
      results: r.ids[qi].map((id, i) => ({
        id,
        distance: r.distances[qi][i],
        document: r.documents[qi][i] ?? null,
        metadata: r.metadatas[qi][i] ?? null,
      })),
    }));
  }));

  return server;
}

async function main() {
  // Nothing but protocol on stdout: the chromadb client warns with console.*.
  console.log = console.info = console.debug = console.warn = console.error;
  let settings;
  try {
    settings = settingsFromEnv();
  } catch (e) {
    console.error(`hal9000-chroma-mcp: ${e.message}`);
    process.exit(2);
  }
  const server = createChromaServer(settings);
  await server.connect(new StdioServerTransport());
  console.error(`hal9000-chroma-mcp ${SERVER_VERSION}: ChromaDB at http://${settings.host}:${settings.port}, embedding ${EMBEDDING_NAME}`);
}

// Run when executed (also through a symlink such as node_modules/.bin), not when imported.
const self = realpathSync(fileURLToPath(import.meta.url));
if (process.argv[1] && realpathSync(process.argv[1]) === self) {
  main().catch((e) => {
    console.error(`hal9000-chroma-mcp: ${e?.stack || e}`);
    process.exit(1);
  });
}
