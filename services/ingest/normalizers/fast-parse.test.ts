/**
 * The fast NormalizedEvent parser against zod itself: over every corpus event and thousands of mutations of them,
 * whatever the fast path accepts zod accepts too, with the same output (same keys, same order, same values).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { NormalizedEvent } from "../../../schemas/index.ts";
import { FAIL, fastParser } from "../../../schemas/fast-parse.ts";
import { splitBody } from "../body.ts";
import { normalizeEvent } from "./index.ts";
import { corpusEvents, corpusLines, corpusSampleFiles } from "./testing.ts";

const parse = fastParser(NormalizedEvent);
const closures = fastParser(NormalizedEvent, { generate: false });

function corpusOutputs(): NormalizedEvent[] {
  const out: NormalizedEvent[] = [];
  for (const file of corpusSampleFiles()) {
    let lines: string[];
    try {
      lines = corpusEvents(file).map((e) => JSON.stringify(e));
    } catch {
      lines = corpusLines(file);
    }
    for (const p of lines.flatMap((l) => splitBody(l)))
      if (p.ok) {
        const r = normalizeEvent(p.event, p.text, { source: "test", receivedTime: 1_700_000_000_000 });
        if (r.ok) out.push(r.event);
      }
  }
  return out;
}

/** The fast verdict agrees with zod's: accepted only where zod accepts, with zod's exact output. */
function agrees(schema: z.ZodType, fast: (v: unknown) => unknown, value: unknown): boolean {
  const got = fast(value);
  const want = schema.safeParse(value);
  if (got === FAIL) return false;
  assert.ok(want.success, `fast path accepted what zod refuses: ${JSON.stringify(value)?.slice(0, 300)}`);
  assert.deepStrictEqual(got, want.data);
  assert.deepStrictEqual(Object.keys(got as object), Object.keys(want.data as object));
  assert.equal(JSON.stringify(got), JSON.stringify(want.data));
  return true;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: readonly unknown[] = [
  undefined,
  null,
  "",
  "x",
  "\u{1F600}",
  "10.0.0.1",
  "::1",
  "not an ip",
  0,
  -1,
  1.5,
  65536,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 60,
  true,
  [],
  ["a"],
  [1],
  {},
  { a: 1 },
  Object.create(null) as object,
  JSON.parse('{"__proto__": {"polluted": 1}}') as object,
  { constructor: "x" },
  { constructor: {} },
  2004,
  3002,
];

/** A copy of `event` with one thing changed somewhere inside it. */
function mutate(event: unknown, next: () => number): unknown {
  const copy = structuredClone(event) as Record<string, unknown>;
  let cur: Record<string, unknown> = copy;
  for (let depth = 0; depth < 6; depth++) {
    const keys = Object.keys(cur);
    if (keys.length === 0) break;
    const k = keys[Math.floor(next() * keys.length)] as string;
    const child = cur[k];
    const r = next();
    if (child !== null && typeof child === "object" && r < 0.6) {
      cur = child as Record<string, unknown>;
      continue;
    }
    if (r < 0.7) delete cur[k];
    else if (r < 0.8) cur[`extra_${depth}`] = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)];
    else cur[k] = ODD_VALUES[Math.floor(next() * ODD_VALUES.length)];
    break;
  }
  return copy;
}

test("the fast parser accepts every corpus event with zod's own output", () => {
  const events = corpusOutputs();
  assert.ok(events.length > 400, `corpus events: ${events.length}`);
  for (const e of events) {
    assert.ok(agrees(NormalizedEvent, parse, e), `refused: ${e.riposte.format}`);
    assert.ok(agrees(NormalizedEvent, closures, e), `refused without generated code: ${e.riposte.format}`);
  }
});

test("on mutated events the fast parser never accepts what zod refuses, nor differs from zod's output", () => {
  const events = corpusOutputs();
  const next = rng(42);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 10_000; i++) {
    const e = events[Math.floor(next() * events.length)];
    const m = mutate(e, next);
    const ok = agrees(NormalizedEvent, parse, m);
    assert.equal(agrees(NormalizedEvent, closures, m), ok);
    if (ok) accepted++;
    else refused++;
  }
  assert.ok(accepted > 300 && refused > 300, `accepted ${accepted}, refused ${refused}`);
});

test("the fast parser strips, keeps and refuses as zod does on small schemas", () => {
  const schema = z.object({
    a: z.string().min(1),
    b: z.number().int().min(0).max(10).optional(),
    c: z.looseObject({ d: z.boolean() }).optional(),
    e: z.record(z.string(), z.unknown()).optional(),
    f: z.array(z.union([z.ipv4(), z.ipv6()])).optional(),
    g: z.literal(7).optional(),
  });
  for (const generate of [true, false]) {
    const fast = fastParser(schema, { generate });
    const cases: unknown[] = [
      { a: "x" },
      { a: "x", b: undefined },
      { z: 1, a: "x", b: 3 },
      { a: "" },
      { a: "\u{1F600}" },
      { a: "x", b: 11 },
      { a: "x", b: 2.5 },
      { a: "x", c: { d: true, extra: 1, more: undefined } },
      { a: "x", c: { d: 1 } },
      { a: "x", e: { k: 1, l: undefined } },
      { a: "x", e: { constructor: {} } },
      { a: "x", e: JSON.parse('{"__proto__": 1, "k": 2}') as unknown },
      { a: "x", e: [] },
      { a: "x", f: ["10.0.0.1", "::1"] },
      { a: "x", f: ["10.0.0.300"] },
      { a: "x", g: 7 },
      { a: "x", g: 8 },
      [],
      null,
    ];
    let accepted = 0;
    for (const c of cases) {
      if (agrees(schema, fast, c)) accepted++;
      else assert.equal(fast(c), FAIL);
    }
    assert.ok(accepted >= 8, `accepted ${accepted}`);
  }
});

test("objects that are not plain data (hidden, inherited, accessor keys, proxies) are read as zod reads them", () => {
  const schema = z.object({
    a: z.string(),
    b: z.number().int().max(10).optional(),
    c: z.looseObject({ d: z.boolean() }).optional(),
  });
  const hidden = (o: object, key: string, value: unknown) =>
    Object.defineProperty(o, key, { value, enumerable: false, configurable: true, writable: true });
  const target = { a: "x", b: 3 };
  const cases: unknown[] = [
    hidden({ a: "x" }, "b", 3),
    hidden({ a: "x" }, "b", 11),
    hidden({ b: 3 }, "a", "x"),
    hidden({ a: "x" }, "b", undefined),
    Object.assign(Object.create({ b: 3 }) as object, { a: "x" }),
    Object.assign(Object.create({ b: 11 }) as object, { a: "x" }),
    Object.assign(Object.create(null) as object, { a: "x", b: 3, z: 1 }),
    Object.assign(Object.create(null) as object, { b: 3 }),
    {
      a: "x",
      get b() {
        return 3;
      },
    },
    new Proxy(target, {}),
    JSON.parse('{"__proto__": {"b": 3}, "a": "x"}') as unknown,
    { a: "x", c: Object.assign(Object.create(null) as object, { d: true, e: 1 }) },
    { a: "x", c: hidden({ d: true, e: 1 }, "f", 2) },
  ];
  for (const generate of [true, false]) {
    const fast = fastParser(schema, { generate });
    let accepted = 0;
    for (const c of cases) {
      if (agrees(schema, fast, c)) accepted++;
      else assert.equal(fast(c), FAIL);
    }
    assert.ok(accepted >= 8, `accepted ${accepted}`);
  }
  // A proxy whose `has` hides a key that its `get` gives: zod goes by `in`, and the generated parser leaves it to zod.
  const lying = new Proxy(target, { has: (t, k) => k !== "b" && k in t });
  assert.equal(fastParser(schema)(lying), FAIL);
});
