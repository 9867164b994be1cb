import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { canonicalJson, stableId } from "./ids.ts";

/** The definition canonicalJson keeps: JSON.stringify with each object's entries sorted into a new object. */
const byReplacer = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

test("canonicalJson writes what the sorted-entries replacer writes, for every kind of value", () => {
  let seed = 11;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const KEYS = [
    "a",
    "b",
    "B",
    "é",
    "0",
    "1",
    "10",
    "9",
    "01",
    "-1",
    "4294967294",
    "4294967295",
    "__proto__",
    "z z",
    'q"\\',
    "\ud800",
    "\n",
    "k".repeat(80),
  ];
  const LEAVES: unknown[] = [
    "",
    "x",
    "\u{1F600}",
    "\ud800",
    'q"\\',
    0,
    -0,
    1.5,
    1e21,
    Number.NaN,
    Infinity,
    true,
    false,
    null,
  ];
  const value = (depth: number): unknown => {
    const r = next();
    if (depth > 3 || r < 0.4) {
      const x = next();
      if (x < 0.03) return undefined;
      if (x < 0.05) return new Date(0);
      return LEAVES[Math.floor(next() * LEAVES.length)];
    }
    if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = next() < 0.1 ? (Object.create(null) as Record<string, unknown>) : {};
    const n = Math.floor(next() * 6);
    for (let i = 0; i < n; i++)
      Object.defineProperty(o, KEYS[Math.floor(next() * KEYS.length)] as string, {
        value: value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  };
  for (let t = 0; t < 20_000; t++) {
    const v = value(0);
    assert.equal(canonicalJson(v), byReplacer(v));
  }
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], 10: 0, 9: 0 }), '{"9":0,"10":0,"a":[{"c":3,"d":2}],"b":1}');
});

test("canonicalJson's memo of quoted keys stays right past its bound (a sender inventing keys)", () => {
  for (let i = 0; i < 10_000; i++) {
    const v = { [`key-${i}`]: i, [`"${i}`]: [i], a: { [`x${i % 7}`]: null } };
    assert.equal(canonicalJson(v), byReplacer(v));
  }
});

test("stableId is the sha256 of each part followed by NUL, as a streaming hash is fed them", () => {
  for (const parts of [["suricata_eve", "1:2:3"], ["a", 1, "\ud800", "é"], [], [""]] as Array<Array<string | number>>) {
    const h = createHash("sha256");
    for (const p of parts) h.update(String(p)).update("\u0000");
    assert.equal(stableId(...parts), h.digest("hex").slice(0, 32));
  }
});
