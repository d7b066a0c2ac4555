// Pure word comparison for "did you mean …?" messages: nothing here reads the registry, the env or the store.

/** The edit distance of two words: insertions, deletions, substitutions and swaps of two neighbours each count 1. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * Whether `typed` looks like a slip for `meant`: the same word in another case, a few letters off (one for short
 * words, two from eight letters), or `meant` with a suffix such as `_ID` added.
 */
export function looksLike(typed: string, meant: string): boolean {
  if (typed === meant) return false;
  const a = typed.toUpperCase().replace(/-/g, "_");
  const b = meant.toUpperCase();
  if (a === b) return true;
  if (b.length >= 4 && a.startsWith(`${b}_`)) return true;
  return editDistance(a, b) <= (Math.min(a.length, b.length) >= 8 ? 2 : 1);
}

/** The closest of `candidates` that `typed` looks like a slip for, or `undefined`. */
export function closestName(typed: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (!looksLike(typed, candidate)) continue;
    const distance = editDistance(typed.toUpperCase(), candidate.toUpperCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best?.name;
}
