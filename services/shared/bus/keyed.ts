/** Key-ordered concurrency: what a partition consumer may run at once without reordering one entity's messages. */
import type { InMessage } from "./types.ts";

/**
 * Runs `fn` over a batch: one message at a time within a key, different keys concurrently. Results come back in
 * the batch's order. Rejects if any call rejects (the bus then redelivers the batch).
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
  await Promise.all(chains.values());
  return results;
}
