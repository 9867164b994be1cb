import { test } from "node:test";
import assert from "node:assert/strict";
import { inKeyOrder } from "./keyed.ts";
import type { InMessage } from "./types.ts";

const msg = (key: string, i: number): InMessage => ({
  topic: "t",
  partition: 0,
  offset: String(i),
  key,
  value: Buffer.from(String(i)),
  headers: {},
  timestamp: 0,
});

test("one key runs in order, different keys run concurrently, results keep the batch order", async () => {
  const batch = [msg("a", 0), msg("b", 1), msg("a", 2), msg("b", 3), msg("a", 4)];
  const started: number[] = [];
  const finished: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const results = await inKeyOrder(batch, async (m) => {
    const i = Number(m.offset);
    started.push(i);
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, m.key === "a" ? 5 : 1));
    running--;
    finished.push(i);
    return i * 10;
  });
  assert.deepEqual(results, [0, 10, 20, 30, 40]);
  assert.deepEqual(
    finished.filter((i) => i % 2 === 0),
    [0, 2, 4],
    "key a in order",
  );
  assert.deepEqual(
    finished.filter((i) => i % 2 === 1),
    [1, 3],
    "key b in order",
  );
  assert.equal(maxRunning, 2, "a and b ran at the same time, never two of one key");
});

test("a failure rejects the batch", async () => {
  await assert.rejects(
    inKeyOrder([msg("a", 0), msg("b", 1)], async (m) => {
      if (m.key === "b") throw new Error("boom");
    }),
    /boom/,
  );
});
