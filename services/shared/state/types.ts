/** Shared state: sightings, claims (idempotency records and leases) and sliding windows. */

export type ClaimResult =
  | { readonly state: "acquired" }
  | { readonly state: "done"; readonly result: string }
  | { readonly state: "held"; readonly owner: string };

export interface StateStore {
  readonly kind: "redis" | "memory";
  /** Records a sighting of `key`; the count restarts `ttlMs` after the first sighting. Returns the count (1 = first). */
  seen(key: string, ttlMs: number): Promise<number>;
  /** Claims `key` for `owner` for `ttlMs`, unless completed or held by another owner. */
  claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult>;
  /** Records the result of a claim the owner holds, kept for `ttlMs`. False if the owner no longer holds it. */
  complete(key: string, owner: string, result: string, ttlMs: number): Promise<boolean>;
  /** Gives up a pending claim. False if the owner no longer holds it. */
  release(key: string, owner: string): Promise<boolean>;
  /** Adds `member` at `nowMs` to a sliding window of `windowMs`; returns the distinct members in it. */
  windowAdd(key: string, member: string, nowMs: number, windowMs: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Builds a state key. The entity goes in a hash tag so all of one entity's keys live in one Redis Cluster slot.
 */
export function stateKey(prefix: string, entity: string, kind: string, id: string): string {
  return `${prefix}:{${entity}}:${kind}:${id}`;
}
