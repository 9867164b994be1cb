import { test } from "node:test";
import assert from "node:assert/strict";
import { dedupValue, recordedSpan, verdictOf } from "./dedup.ts";

const SPAN = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" };

test("the recorded value carries the deciding span in 32 characters; duplicates read it back", () => {
  const v = dedupValue("abcdef01", "t/0/1", SPAN);
  assert.equal(v.length, 16 + 32);
  assert.deepEqual(recordedSpan(v), SPAN);
  assert.equal(dedupValue("abcdef01", "t/0/1").length, 16, "untraced: no span part");
  assert.equal(recordedSpan(dedupValue("abcdef01", "t/0/1")), undefined);
  const zero = { traceId: "0".repeat(32), spanId: "0".repeat(16) };
  assert.equal(dedupValue("abcdef01", "t/0/1", zero).length, 16, "an invalid (all-zero) context is not kept");
});

test("verdicts do not depend on the span part", () => {
  const v = dedupValue("abcdef01", "t/0/1", SPAN);
  assert.equal(verdictOf(v, "abcdef01", "t/0/1"), "redelivery");
  assert.equal(verdictOf(v, "abcdef01", "t/0/2"), "duplicate");
  assert.equal(verdictOf(v, "12345678", "t/0/2"), "update");
  assert.equal(verdictOf(undefined, "abcdef01", "t/0/1"), "new");
});
