/**
 * Fair retention for the in-memory bus: which records of a partition to evict so that it fits a record and a
 * byte cap, taking from the keys that hold the most first (one flooding key cannot push out the others). Pure.
 */

export interface Retained {
  readonly key: string | null;
  readonly size: number;
}

/** Quota q such that Σ min(total_k, q) ≤ cap: the biggest keys are cut down to q, the others keep everything. */
function waterLevel(totals: readonly number[], cap: number): number {
  const sorted = [...totals].sort((a, b) => a - b);
  let left = cap;
  for (let i = 0; i < sorted.length; i++) {
    const share = left / (sorted.length - i);
    const t = sorted[i] as number;
    if (t > share) return share;
    left -= t;
  }
  return Infinity;
}

/**
 * Indices (in `records`, oldest first) to evict so that at most `maxCount` records and `maxBytes` bytes remain.
 * Each key keeps its newest records; keys over their fair share lose their oldest ones. The newest record of
 * all is always kept, so a partition never ends in a hole.
 */
export function fairEviction(records: readonly Retained[], maxCount: number, maxBytes: number): Set<number> {
  const evict = new Set<number>();
  const last = records.length - 1;
  if (last < 0) return evict;
  const byKey = new Map<string | null, number[]>();
  for (let i = 0; i <= last; i++) {
    const k = (records[i] as Retained).key;
    const list = byKey.get(k);
    if (list) list.push(i);
    else byKey.set(k, [i]);
  }
  const lists = [...byKey.values()];
  const countLevel = Math.floor(
    waterLevel(
      lists.map((l) => l.length),
      maxCount,
    ),
  );
  const kept = lists.map((l) => (l.length > countLevel ? l.slice(l.length - Math.max(countLevel, 0)) : l));
  for (let j = 0; j < lists.length; j++) {
    const all = lists[j] as number[];
    const keep = kept[j] as number[];
    for (let i = 0; i < all.length - keep.length; i++) evict.add(all[i] as number);
  }
  const bytes = kept.map((l) => l.reduce((n, i) => n + (records[i] as Retained).size, 0));
  const byteLevel = waterLevel(bytes, maxBytes);
  kept.forEach((l, j) => {
    if ((bytes[j] as number) <= byteLevel) return;
    let sum = 0;
    let i = l.length - 1;
    for (; i >= 0; i--) {
      sum += (records[l[i] as number] as Retained).size;
      if (sum > byteLevel) break;
    }
    for (; i >= 0; i--) evict.add(l[i] as number);
  });
  evict.delete(last);
  return evict;
}
