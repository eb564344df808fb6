// The embedding alone: deterministic, unit length, and nearest where words overlap.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  EMBEDDING_DIM,
  EMBEDDING_NAME,
  embed,
  embeddingMetadata,
  embeddingMismatch,
  fnv1a32,
  tokenize,
} from "../chroma/embedding.mjs";

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

test("FNV-1a 32 matches its published test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

test("tokenize lower-cases, splits on non-letters, drops stop words and plural s", () => {
  assert.deepEqual(tokenize("The Workers' pools, and ChromaDB-3!"), ["worker", "pool", "chromadb", "3"]);
  assert.deepEqual(tokenize("Straße ÉTÉ"), ["straße", "été"]);
  assert.deepEqual(tokenize("class glass"), ["class", "glass"]);
  assert.deepEqual(tokenize(""), []);
});

test("embed gives unit vectors of the recorded dimension, the same every time", () => {
  const v = embed("warm workers are claimed in milliseconds");
  assert.equal(v.length, EMBEDDING_DIM);
  assert.ok(Math.abs(dot(v, v) - 1) < 1e-9);
  assert.deepEqual(embed("warm workers are claimed in milliseconds"), v);
  assert.ok(embed("!!! ...").every((x) => x === 0), "no words: the zero vector");
});

test("texts that share words are nearer than texts that do not", () => {
  const q = embed("how is the warm pool of workers refilled");
  const near = embed("the pool scaler refills warm workers after each claim");
  const far = embed("ChromaDB stores embeddings in a persistent volume");
  assert.ok(dot(q, near) > dot(q, far) + 0.1, `${dot(q, near)} vs ${dot(q, far)}`);
});

test("a collection is usable for text only with this embedding recorded", () => {
  assert.equal(embeddingMismatch("c", embeddingMetadata()), "");
  assert.match(embeddingMismatch("c", null), /no hal9000 embedding/);
  assert.match(embeddingMismatch("c", { hal9000_embedding: "other", hal9000_embedding_dim: 1024 }), /'other'/);
  assert.match(embeddingMismatch("c", { hal9000_embedding: EMBEDDING_NAME, hal9000_embedding_dim: 384 }),
               new RegExp(EMBEDDING_NAME));
});
