/**
 * @internal An index of many strings that finds every one of them in a text in one pass, whatever their number:
 * a hash trie over 4-character chunks. The text's chunk at each position is hashed and looked up (behind a bit
 * filter that rejects almost every position at once); only positions whose first chunk is some value's first
 * chunk walk further, one chunk at a time, and are checked character by character. The cost of a line grows with
 * the line, not with the number of values; values are added and removed one by one, so per-run scopes stay cheap.
 */

/** The chunk length; also the shortest string the index holds. */
export const CHUNK = 4;
/** A node splits its long strings into children once it holds more than this many. */
const SPLIT_AT = 8;
/** Past this many characters of shared prefix, strings stay in one list (only a contrived set gets there). */
const MAX_DEPTH = 256;

const BASE = 0x01000193;
/** BASE³ (mod 2³²), to take the leaving character out of the rolling hash. */
const BASE3 = Math.imul(Math.imul(BASE, BASE), BASE);

/**
 * Hashes the 4 characters at `at` into a 30-bit integer (a V8 Smi, so `Map` lookups stay fast). It is a polynomial
 * hash so that `replace` can roll it along the text, reading each character once; its top bits mix every input bit.
 */
function chunkHash(text: string, at: number): number {
  let h = text.charCodeAt(at);
  h = (Math.imul(h, BASE) + text.charCodeAt(at + 1)) | 0;
  h = (Math.imul(h, BASE) + text.charCodeAt(at + 2)) | 0;
  h = (Math.imul(h, BASE) + text.charCodeAt(at + 3)) | 0;
  return h >>> 2;
}

class TrieNode {
  /** Strings that end inside the next chunk (length in [depth + CHUNK, depth + 2 × CHUNK)). */
  ends: Set<string> | undefined;
  /** How many of `ends` end at each offset of that range, so a match tries only lengths that exist. */
  endCounts: number[] | undefined;
  /** Longer strings not yet split into children. */
  pending: string[] | undefined;
  /** Longer strings, by the hash of their next chunk. */
  children: Map<number, TrieNode> | undefined;
  /** Strings held in this subtree. */
  size = 0;
}

/** @internal See the file comment. Counts how many times each string was added: it stays until removed as often. */
export class ValueIndex {
  /** By the hash of the first chunk: the one string starting with it (most often), or a node of several. */
  private readonly roots = new Map<number, string | TrieNode>();
  private filter = new Uint8Array(1 << 9);
  /** The filter has 2^(30 - filterShift) bits, indexed by the top bits of a chunk's hash. */
  private filterShift = 30 - 12;
  /** Root keys removed since the filter was built: their bits stay set until the next rebuild. */
  private stale = 0;
  private readonly counts = new Map<string, number>();

  /** The number of distinct strings held. */
  get size(): number {
    return this.counts.size;
  }

  /** Adds `value` (at least `CHUNK` characters; shorter ones are ignored). */
  add(value: string): void {
    if (value.length < CHUNK) return;
    const held = this.counts.get(value);
    this.counts.set(value, (held ?? 0) + 1);
    if (held !== undefined) return;
    const key = chunkHash(value, 0);
    const root = this.roots.get(key);
    if (root === undefined) {
      this.roots.set(key, value);
      if (this.roots.size * 16 > 2 ** (30 - this.filterShift)) this.rebuildFilter();
      else this.setBit(key);
      return;
    }
    if (typeof root === "string") {
      const node = new TrieNode();
      insert(node, 0, root);
      insert(node, 0, value);
      this.roots.set(key, node);
      return;
    }
    insert(root, 0, value);
  }

  /** Removes one addition of `value`; it is no longer found once removed as often as it was added. */
  delete(value: string): void {
    const held = this.counts.get(value);
    if (held === undefined) return;
    if (held > 1) {
      this.counts.set(value, held - 1);
      return;
    }
    this.counts.delete(value);
    const key = chunkHash(value, 0);
    const root = this.roots.get(key);
    if (root === undefined) return;
    if (typeof root === "string") {
      if (root !== value) return;
    } else if (!remove(root, 0, value) || root.size > 0) {
      return;
    }
    this.roots.delete(key);
    if (++this.stale > this.roots.size + 64) this.rebuildFilter();
  }

  /**
   * Replaces every held string found in `text` with `replacement`. Overlapping and adjacent matches are merged
   * and replaced once, so no part of any match survives. Returns `text` itself when nothing matched.
   */
  replace(text: string, replacement: string): string {
    const n = text.length;
    if (this.counts.size === 0 || n < CHUNK) return text;
    let out = "";
    let copied = 0;
    let coverStart = -1;
    let coverEnd = -1;
    const { filter, filterShift, roots } = this;
    // The last three characters read, so each character is read once.
    let c0 = text.charCodeAt(0);
    let c1 = text.charCodeAt(1);
    let c2 = text.charCodeAt(2);
    let h = (Math.imul((Math.imul(c0, BASE) + c1) | 0, BASE) + c2) | 0;
    for (let i = 0; i + CHUNK <= n; i++) {
      const c3 = text.charCodeAt(i + 3);
      h = (Math.imul(h, BASE) + c3) | 0;
      const key = h >>> 2;
      h = (h - Math.imul(c0, BASE3)) | 0;
      c0 = c1;
      c1 = c2;
      c2 = c3;
      const bit = key >>> filterShift;
      if (((filter[bit >>> 3] as number) & (1 << (bit & 7))) === 0) continue;
      const root = roots.get(key);
      if (root === undefined) continue;
      const end =
        typeof root === "string"
          ? i + root.length <= n && text.startsWith(root, i)
            ? i + root.length
            : -1
          : longestMatch(root, text, i);
      if (end <= i) continue;
      if (i <= coverEnd) {
        if (end > coverEnd) coverEnd = end;
      } else {
        if (coverStart >= 0) {
          out += text.slice(copied, coverStart) + replacement;
          copied = coverEnd;
        }
        coverStart = i;
        coverEnd = end;
      }
    }
    if (coverStart < 0) return text;
    return out + text.slice(copied, coverStart) + replacement + text.slice(coverEnd);
  }

  private setBit(key: number): void {
    const bit = key >>> this.filterShift;
    this.filter[bit >>> 3] = (this.filter[bit >>> 3] as number) | (1 << (bit & 7));
  }

  private rebuildFilter(): void {
    let log2 = 12;
    while (2 ** log2 < this.roots.size * 16 && log2 < 28) log2++;
    this.filter = new Uint8Array(2 ** (log2 - 3));
    this.filterShift = 30 - log2;
    this.stale = 0;
    for (const key of this.roots.keys()) this.setBit(key);
  }
}

function insert(node: TrieNode, depth: number, value: string): void {
  node.size++;
  if (value.length < depth + 2 * CHUNK) {
    node.ends ??= new Set();
    node.endCounts ??= [0, 0, 0, 0];
    node.ends.add(value);
    (node.endCounts[value.length - depth - CHUNK] as number)++;
    return;
  }
  if (node.children) {
    insertChild(node.children, depth + CHUNK, value);
    return;
  }
  node.pending ??= [];
  node.pending.push(value);
  if (node.pending.length > SPLIT_AT && depth < MAX_DEPTH) {
    const children = new Map<number, TrieNode>();
    for (const v of node.pending) insertChild(children, depth + CHUNK, v);
    node.children = children;
    node.pending = undefined;
  }
}

function insertChild(children: Map<number, TrieNode>, depth: number, value: string): void {
  const key = chunkHash(value, depth);
  let child = children.get(key);
  if (!child) {
    child = new TrieNode();
    children.set(key, child);
  }
  insert(child, depth, value);
}

function remove(node: TrieNode, depth: number, value: string): boolean {
  let removed = false;
  if (value.length < depth + 2 * CHUNK) {
    if (node.ends?.delete(value)) {
      const counts = node.endCounts as number[];
      counts[value.length - depth - CHUNK] = (counts[value.length - depth - CHUNK] as number) - 1;
      removed = true;
    }
  } else if (node.children) {
    const key = chunkHash(value, depth + CHUNK);
    const child = node.children.get(key);
    if (child && remove(child, depth + CHUNK, value)) {
      if (child.size === 0) node.children.delete(key);
      removed = true;
    }
  } else if (node.pending) {
    const at = node.pending.indexOf(value);
    if (at >= 0) {
      node.pending[at] = node.pending[node.pending.length - 1] as string;
      node.pending.pop();
      removed = true;
    }
  }
  if (removed) node.size--;
  return removed;
}

/** The end of the longest held string that starts at `at` in `text`, or -1. */
function longestMatch(root: TrieNode, text: string, at: number): number {
  const n = text.length;
  let end = -1;
  let node: TrieNode | undefined = root;
  let depth = 0;
  while (node) {
    const { ends, endCounts, pending } = node;
    const children: Map<number, TrieNode> | undefined = node.children;
    if (ends && endCounts) {
      for (let offset = CHUNK - 1; offset >= 0; offset--) {
        const stop = at + depth + CHUNK + offset;
        if (stop > end && stop <= n && (endCounts[offset] as number) > 0 && ends.has(text.slice(at, stop))) {
          end = stop;
          break;
        }
      }
    }
    if (pending) {
      for (const value of pending) {
        const stop = at + value.length;
        if (stop > end && stop <= n && text.startsWith(value, at)) end = stop;
      }
    }
    const next = at + depth + CHUNK;
    if (!children || next + CHUNK > n) break;
    node = children.get(chunkHash(text, next));
    depth += CHUNK;
  }
  return end;
}
