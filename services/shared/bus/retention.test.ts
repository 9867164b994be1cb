import { test } from "node:test";
import assert from "node:assert/strict";
import { fairEviction, type Retained } from "./retention.ts";

const kept = (records: readonly Retained[], evict: Set<number>) => records.filter((_r, i) => !evict.has(i));

test("under both caps nothing is evicted", () => {
  const records = [
    { key: "a", size: 10 },
    { key: "b", size: 10 },
  ];
  assert.equal(fairEviction(records, 2, 20).size, 0);
});

test("over the record cap the biggest key loses its oldest records; the small keys keep theirs", () => {
  const records: Retained[] = [
    { key: "edr", size: 1 },
    ...Array.from({ length: 20 }, () => ({ key: "flood", size: 1 })),
    { key: "ids", size: 1 },
  ];
  const evict = fairEviction(records, 10, 1_000);
  const left = kept(records, evict);
  assert.equal(left.length, 10);
  assert.deepEqual(
    left.filter((r) => r.key !== "flood").map((r) => r.key),
    ["edr", "ids"],
  );
  assert.ok(!evict.has(20), "the newest flood record stays");
  assert.ok(evict.has(1), "the oldest flood record goes");
});

test("over the byte cap the key holding the most bytes is cut first, keeping its newest", () => {
  const records: Retained[] = [
    { key: "big", size: 400 },
    { key: "small", size: 10 },
    { key: "big", size: 400 },
    { key: "small", size: 10 },
    { key: "big", size: 400 },
  ];
  const evict = fairEviction(records, 100, 500);
  assert.deepEqual([...evict].sort(), [0, 2]);
});

test("the newest record is kept even when it alone is over the byte cap", () => {
  const records: Retained[] = [
    { key: "a", size: 10 },
    { key: "b", size: 5_000 },
  ];
  const evict = fairEviction(records, 100, 1_000);
  assert.ok(!evict.has(1));
  assert.ok(!evict.has(0), "a's record is within a's share");
});

test("null keys are one key like any other", () => {
  const records: Retained[] = [...Array.from({ length: 6 }, () => ({ key: null, size: 1 })), { key: "k", size: 1 }];
  const left = kept(records, fairEviction(records, 4, 100));
  assert.equal(left.filter((r) => r.key === "k").length, 1);
  assert.ok(left.length <= 4);
});
