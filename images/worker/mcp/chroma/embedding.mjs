// The embedding every hal9000 session uses for ChromaDB: model-free, offline,
// deterministic, so a document added in one session is found by a query in any
// other. A hashed bag of words ("feature hashing"):
//   text -> NFKC, lower case -> words (runs of letters/digits, Unicode)
//        -> minus a few English stop words, a trailing plural "s" dropped
//   features: each word (weight 1) and each pair of neighbouring words (0.5)
//   bucket:   FNV-1a 32-bit of the feature's UTF-8 bytes, modulo DIM;
//             the hash's top bit gives the sign (collisions cancel, not pile up)
//   weight:   1 + ln(count) per feature, then the vector is L2-normalised
//             (so Chroma's default L2 distance ranks like cosine similarity).
// Text with no words embeds to the zero vector.
//
// The name and the dimension are recorded on every collection this server
// creates (metadata keys below); a change to anything above is a new NAME.

export const EMBEDDING_NAME = "hal9000-hashed-bow-v1";
export const EMBEDDING_DIM = 1024;
export const META_EMBEDDING = "hal9000_embedding";
export const META_DIM = "hal9000_embedding_dim";

const STOP_WORDS = new Set(
  ("a an and are as at be but by for from has have in is it its of on or that the "
    + "this to was were will with").split(" "),
);

const encoder = new TextEncoder();

/** FNV-1a, 32 bits, over the UTF-8 bytes of s; an unsigned integer. */
export function fnv1a32(s) {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The words of text, as the embedding sees them. */
export function tokenize(text) {
  const words = String(text ?? "").normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const out = [];
  for (let w of words) {
    if (STOP_WORDS.has(w)) continue;
    if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
    out.push(w);
  }
  return out;
}

/** One text -> an array of EMBEDDING_DIM numbers (unit length, or all zero). */
export function embed(text, dim = EMBEDDING_DIM) {
  const words = tokenize(text);
  const counts = new Map();
  const add = (feature, weight) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  for (let i = 0; i < words.length; i++) {
    add(words[i], 1);
    if (i + 1 < words.length) add(words[i] + " " + words[i + 1], 0.5);
  }
  const v = new Array(dim).fill(0);
  for (const [feature, count] of counts) {
    const h = fnv1a32(feature);
    const sign = h & 0x80000000 ? -1 : 1;
    // count >= 0.5; 1 + ln(count) stays positive down to count = 1/e.
    v[h % dim] += sign * (1 + Math.log(count));
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < dim; i++) v[i] /= norm;
  return v;
}

/**
 * The chromadb client's embedding-function shape, with no `name`/`getConfig`:
 * the client then stores a "legacy" configuration and never looks for a model
 * package. The collection's metadata says which embedding it holds.
 */
export class HashedBagOfWords {
  constructor(dim = EMBEDDING_DIM) {
    this.dim = dim;
  }

  async generate(texts) {
    return texts.map((t) => embed(t, this.dim));
  }
}

/** The metadata that marks a collection as embedded by this function. */
export function embeddingMetadata() {
  return { [META_EMBEDDING]: EMBEDDING_NAME, [META_DIM]: EMBEDDING_DIM };
}

/**
 * Why a collection's documents cannot be embedded here ("" when they can):
 * it must carry this function's name and dimension.
 */
export function embeddingMismatch(name, metadata) {
  const got = metadata?.[META_EMBEDDING];
  if (got === EMBEDDING_NAME && Number(metadata?.[META_DIM]) === EMBEDDING_DIM) return "";
  const what = got ? `'${got}'` : "no hal9000 embedding";
  return `collection '${name}' was made with ${what}, not '${EMBEDDING_NAME}' `
    + `(${EMBEDDING_DIM} dimensions): its documents can be read and deleted here, `
    + "but text cannot be added or queried; use a collection made by chroma_create_collection";
}
