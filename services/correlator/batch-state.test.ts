import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryState } from "../shared/state/index.ts";
import type { StateStore, TimelineEntry } from "../shared/state/index.ts";
import { BatchState, direct } from "./batch-state.ts";
import type { StateOp } from "./plan.ts";

/** Counts the store calls a batch makes. */
function counting(inner: StateStore) {
  const calls = { lookup: 0, recall: 0, record: 0, append: 0 };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop === "string" && prop in calls && typeof v === "function")
        return (...args: unknown[]) => {
          calls[prop as keyof typeof calls]++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, calls };
}

test("a batch reads each key once, sees its own writes, and writes them to the store only on flush", async () => {
  const mem = new MemoryState();
  await mem.append("t", [{ member: "a", time: 10 }], 0, 10, 60_000);
  const { store, calls } = counting(mem);
  const view = new BatchState(store);
  view.prefetch({ lookups: [{ key: "d", field: "f" }], timelines: ["t"] });
  view.prefetch({ lookups: [{ key: "d", field: "f" }], timelines: ["t"] });
  assert.equal(await view.lookup("d", "f"), undefined);
  await view.apply({ op: "record", key: "d", field: "f", value: "v1", ttlMs: 60_000 });
  await view.apply({
    op: "append",
    key: "t",
    entries: [{ member: "b", time: 20 }],
    cutoffMs: 0,
    cap: 10,
    ttlMs: 60_000,
  });
  assert.equal(await view.lookup("d", "f"), "v1", "a later event reads the earlier one's write");
  assert.deepEqual(await view.recall("t"), [
    { member: "a", time: 10 },
    { member: "b", time: 20 },
  ]);
  assert.deepEqual(calls, { lookup: 1, recall: 1, record: 0, append: 0 });
  assert.equal(await mem.lookup("d", "f"), undefined, "nothing written before the flush");
  await view.flush();
  assert.deepEqual(calls, { lookup: 1, recall: 1, record: 1, append: 1 });
  assert.equal(await mem.lookup("d", "f"), "v1");
  assert.equal((await mem.recall("t")).length, 2);
});

test("a failed prefetch rejects where it is read (the batch is retried), never as an unhandled rejection", async () => {
  const mem = new MemoryState();
  const failing = new Proxy(mem, {
    get(target, prop, receiver) {
      if (prop === "recall") return () => Promise.reject(new Error("redis down"));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const view = new BatchState(failing);
  view.prefetch({ lookups: [], timelines: ["t"] });
  await new Promise((r) => setTimeout(r, 10));
  await assert.rejects(view.recall("t"), /redis down/);
});

const entry = fc.record({ member: fc.constantFrom("a", "b", "c", "d", "e"), time: fc.integer({ min: 0, max: 100 }) });
const op: fc.Arbitrary<StateOp> = fc.oneof(
  fc.record({
    op: fc.constant("append" as const),
    key: fc.constantFrom("t1", "t2"),
    entries: fc.array(entry, { maxLength: 4 }),
    cutoffMs: fc.integer({ min: 0, max: 60 }),
    cap: fc.integer({ min: 1, max: 4 }),
    ttlMs: fc.constant(60_000),
  }),
  fc.record({
    op: fc.constant("record" as const),
    key: fc.constantFrom("d1", "d2"),
    field: fc.constantFrom("f1", "f2"),
    value: fc.string({ maxLength: 3 }),
    ttlMs: fc.constant(60_000),
  }),
);

test("property: a batch's reads and its flushed store equal applying every write to the store in turn", async () => {
  const sorted = (xs: TimelineEntry[]) => [...xs].sort((a, b) => a.time - b.time || a.member.localeCompare(b.member));
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { maxLength: 5 }), fc.array(op, { maxLength: 12 }), async (seed, ops) => {
      const a = new MemoryState();
      const b = new MemoryState();
      for (const s of [a, b]) await s.append("t1", seed, 0, 10, 60_000);
      const view = new BatchState(b);
      view.prefetch({ lookups: [{ key: "d1", field: "f1" }], timelines: ["t1", "t2"] });
      const one = direct(a);
      for (const o of ops) {
        await one.apply(o);
        await view.apply(o);
        for (const k of ["t1", "t2"]) assert.deepEqual(sorted(await view.recall(k)), sorted(await a.recall(k)));
        for (const [k, f] of [
          ["d1", "f1"],
          ["d2", "f2"],
        ] as const)
          assert.equal(await view.lookup(k, f), await a.lookup(k, f));
      }
      await view.flush();
      for (const k of ["t1", "t2"]) assert.deepEqual(await b.recall(k), await a.recall(k));
      await Promise.all([a.close(), b.close()]);
    }),
    { numRuns: 300 },
  );
});
