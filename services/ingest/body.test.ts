import { test } from "node:test";
import assert from "node:assert/strict";
import { splitBody } from "./body.ts";

const kinds = (body: string) => splitBody(body).map((p) => (p.ok ? p.event.kind : `error:${p.reason}`));

test("one object, an array, NDJSON and text lines", () => {
  assert.deepEqual(kinds('{"a":1}'), ["json"]);
  assert.deepEqual(kinds('[{"a":1},{"b":2}]'), ["json", "json"]);
  assert.deepEqual(kinds('{"a":1}\n{"b":2}\r\n\n{"c":3}\n'), ["json", "json", "json"]);
  assert.deepEqual(kinds("<134>1 2024-01-01T00:00:00Z fw CEF:0|a|b|1|2|n|5|\nLEEF:2.0|a|b|1|x|"), ["text", "text"]);
});

test("pretty-printed and concatenated objects are split into events", () => {
  const body = '{\n  "a": 1,\n  "s": "}{"\n}\n{\n  "b": [1, {"c": 2}]\n}\n{"d":4}\n';
  const pieces = splitBody(body);
  assert.deepEqual(
    pieces.map((p) => p.ok && p.event.kind === "json" && Object.keys(p.event.value)),
    [["a", "s"], ["b"], ["d"]],
  );
});

test("a broken line is one failed piece with its line number; the other lines survive", () => {
  const out = splitBody('{"a":1}\n{"b": oops\n{"c":3}\n');
  assert.equal(out.length, 3);
  assert.ok(out[0]?.ok && out[2]?.ok);
  const bad = out[1];
  assert.ok(bad && !bad.ok && /line 2 is not valid JSON/.test(bad.reason) && bad.text === '{"b": oops');
});

test("bad whole bodies are explained", () => {
  assert.match(kinds("")[0] ?? "", /empty/);
  assert.match(kinds("[]")[0] ?? "", /empty JSON array/);
  assert.match(kinds('{"a": oops')[0] ?? "", /the body is not valid JSON/);
  assert.match(kinds("[1, 2]")[0] ?? "", /element 0 is number/);
});

test("a body of many broken lines splits in linear time", () => {
  const body = '{"a": oops\n'.repeat(20_000);
  const started = process.hrtime.bigint();
  const pieces = splitBody(body);
  assert.equal(pieces.length, 20_000);
  assert.ok(pieces.every((p) => !p.ok));
  // Not a timing assertion on speed, a guard against the quadratic rescan: 20,000 lines of rescanning to the end
  // would take minutes.
  assert.ok(process.hrtime.bigint() - started < 30_000_000_000n);
});
