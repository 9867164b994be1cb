/** Key-ordered concurrency: what a partition consumer may run at once without reordering one entity's messages. */
import type { InMessage } from "./types.ts";

/**
 * Runs `fn` over a batch: one message at a time within a key, different keys concurrently. Results come back in
 * the batch's order. Rejects, once every call has settled, if any call rejected (the bus then redelivers).
 */
export async function inKeyOrder<T>(messages: readonly InMessage[], fn: (m: InMessage) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(messages.length);
  const chains = new Map<string, Promise<void>>();
  messages.forEach((m, i) => {
    const key = m.key ?? `\u0000${m.partition}`;
    const prev = chains.get(key) ?? Promise.resolve();
    chains.set(
      key,
      prev.then(async () => {
        results[i] = await fn(m);
      }),
    );
  });
  // Wait for every key to finish before failing: a redelivered batch must not overlap calls still in flight.
  const settled = await Promise.allSettled(chains.values());
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results;
}
