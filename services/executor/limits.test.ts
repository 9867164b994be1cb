/**
 * The rate-limit waiters of one process queue for the shared bucket: only the head asks, so a crowd of runs
 * waiting on one connector costs about one state call per token, and they are served in arrival order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryState } from "../shared/state/index.ts";
import { takeToken } from "./limits.ts";

/** A memory state that counts the bucket calls. */
function counted(): { state: MemoryState; calls: () => number } {
  const state = new MemoryState();
  let n = 0;
  const take = state.tokenTake.bind(state);
  state.tokenTake = (...args) => {
    n++;
    return take(...args);
  };
  return { state, calls: () => n };
}

test("waiters of one process ask the bucket in turn, in arrival order", async () => {
  const { state, calls } = counted();
  const spec = { capacity: 2, intervalMs: 100 };
  const order: number[] = [];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => takeToken(state, "p:{rate}:x", spec, Date.now).then(() => order.push(i))),
  );
  assert.deepEqual(
    order,
    Array.from({ length: 12 }, (_, i) => i),
  );
  // 2 tokens at once, then one every 50 ms: the last of 12 waited for 10 refills.
  assert.ok(Date.now() - started >= 450, "the bucket's rate held");
  // Each waiter asks once when it reaches the head, plus about one retry per refill it waited for at the head;
  // asking all at once would have cost 12 + 11 + ... calls.
  assert.ok(calls() <= 12 + 10 + 4, `${calls()} bucket calls for 12 tokens`);
});

test("separate buckets and separate stores do not wait for each other", async () => {
  const { state } = counted();
  const other = new MemoryState();
  const spec = { capacity: 1, intervalMs: 60_000 };
  await takeToken(state, "p:{rate}:a", spec, Date.now);
  // Bucket a is empty for a minute; b and the other store's a still have their token now.
  const slow = takeToken(state, "p:{rate}:a", { capacity: 1, intervalMs: 50 }, Date.now);
  await takeToken(state, "p:{rate}:b", spec, Date.now);
  await takeToken(other, "p:{rate}:a", spec, Date.now);
  await slow;
});

test("a waiter that gives up does not hold the ones behind it", async () => {
  const { state } = counted();
  let t = 0;
  const clock = () => t;
  const spec = { capacity: 1, intervalMs: 120_000 };
  await takeToken(state, "p:{rate}:c", spec, clock);
  // The next token is two minutes away: more than a waiter waits, so it fails at once, as does the next.
  await assert.rejects(takeToken(state, "p:{rate}:c", spec, clock), /no rate-limit token/);
  const second = takeToken(state, "p:{rate}:c", spec, clock);
  await assert.rejects(second, /no rate-limit token/);
  t = 120_000;
  await takeToken(state, "p:{rate}:c", spec, clock);
});
