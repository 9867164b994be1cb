/**
 * Arbitraries for hostile JSON: values of the wrong type, huge strings, deep nesting, prototype-polluting keys, and
 * corpus events mutated with them. Every value is produced as JSON text and parsed back, so the product sees
 * exactly what its own JSON.parse would hand it (an own `__proto__` key, nesting deeper than JSON.stringify can go).
 */
import fc from "fast-check";

/** Keys that mean something to JavaScript objects or to path lookups. */
export const HOSTILE_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "toJSON",
  "then",
  "length",
  "0",
  "",
  "a.b",
  "$.x",
  "[0]",
  "__defineGetter__",
] as const;

/** Strings that look like numbers, times, addresses, templates, or are otherwise odd. */
export const TRICKY_STRINGS = [
  "",
  " ",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-1",
  "1e999",
  "0x10",
  "00012",
  "9007199254740993",
  "true",
  "2026-13-45T99:99:99Z",
  "9999-12-31T23:59:59.999Z",
  "0000-00-00T00:00:00Z",
  "+275760-09-13T00:00:00.001Z",
  "1700000000",
  "17000000000000000000",
  "Feb 30 2021 25:61:61 Mars/Olympus",
  "999.999.999.999",
  "::ffff:1.2.3.4",
  "1.2.3.4/33",
  "fe80::1%eth0",
  "a@b@c",
  "\\",
  "\\\\|\\=",
  "%s%n%x",
  "${jndi:ldap://x}",
  "{{ event.uid }}",
  "\u0000",
  "\ud800",
  "\udfff",
  "\u202e\u2066",
  "\ufeff",
  "\u2028\u2029",
  "😀",
  "__proto__",
  "constructor",
  "CEF:0|a|b|c|d|e|f|",
  "LEEF:2.0|a|b|c|d|^|",
] as const;

/** A value to put where the event expects something else. `deep` and `huge` are specs, so they shrink by size. */
export type Wrong =
  | { readonly t: "num"; readonly v: number }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "huge"; readonly unit: string; readonly count: number }
  | { readonly t: "deep"; readonly shape: "array" | "object" | "mixed"; readonly depth: number }
  | { readonly t: "null" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "arr"; readonly items: readonly Wrong[] }
  | { readonly t: "obj"; readonly entries: ReadonlyArray<readonly [string, Wrong]> };

const HUGE_UNITS = ["a", " ", "\\", "é", "😀", "\u0000", "=", "|", "{", "[", '"', "\n", "\t", "ab", " =", "\\=", "%"];

/** Sizes: mostly small, sometimes large, rarely huge (the large ones find quadratic work). */
export function size(small: number, large: number, huge: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 1, max: small }) },
    // Unbiased: fast-check would otherwise keep large sizes near their lower end.
    { weight: 3, arbitrary: fc.noBias(fc.integer({ min: small, max: large })) },
    { weight: 1, arbitrary: fc.noBias(fc.integer({ min: large, max: huge })) },
  );
}

export const hugeArb: fc.Arbitrary<Wrong> = fc.record({
  t: fc.constant("huge" as const),
  unit: fc.constantFrom(...HUGE_UNITS),
  count: size(1_000, 70_000, 1_100_000),
});

export const deepArb: fc.Arbitrary<Wrong> = fc.record({
  t: fc.constant("deep" as const),
  shape: fc.constantFrom("array" as const, "object" as const, "mixed" as const),
  depth: size(100, 5_000, 100_000),
});

const numArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e21, 2 ** 53 + 2, -(2 ** 63), 1.7976931348623157e308, 5e-324, 1e-7, 0.1, 4294967296),
);

const strArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...TRICKY_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
);

/** Any wrong-typed JSON value, nested a little. */
export const wrongArb: fc.Arbitrary<Wrong> = fc.letrec<{ wrong: Wrong }>((tie) => ({
  wrong: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: fc.record({ t: fc.constant("num" as const), v: numArb }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant("str" as const), v: strArb }) },
    { weight: 2, arbitrary: fc.constant({ t: "null" as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant("bool" as const), v: fc.boolean() }) },
    { weight: 1, arbitrary: hugeArb },
    { weight: 1, arbitrary: deepArb },
    {
      weight: 2,
      arbitrary: fc.record({ t: fc.constant("arr" as const), items: fc.array(tie("wrong"), { maxLength: 4 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("obj" as const),
        entries: fc.array(
          fc.tuple(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 })), tie("wrong")),
          {
            maxLength: 4,
          },
        ),
      }),
    },
  ),
})).wrong;

const MARK = "\u0001DEEP:";

/** Sets an own property, even `__proto__` (which assignment would turn into a prototype change). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A wrong value as a JS value; deep nesting is a marker that {@link toJsonText} expands. */
export function materialize(w: Wrong): unknown {
  switch (w.t) {
    case "num":
    case "str":
    case "bool":
      return w.v;
    case "null":
      return null;
    case "huge":
      return w.unit.repeat(w.count);
    case "deep":
      return `${MARK}${w.shape}:${w.depth}\u0001`;
    case "arr":
      return w.items.map(materialize);
    case "obj": {
      const o: Record<string, unknown> = {};
      for (const [k, v] of w.entries) setOwn(o, k, materialize(v));
      return o;
    }
  }
}

/** JSON text of nesting `depth` levels deep. */
export function nesting(shape: "array" | "object" | "mixed", depth: number): string {
  if (shape === "array") return "[".repeat(depth) + "]".repeat(depth);
  if (shape === "object") return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
  const half = Math.ceil(depth / 2);
  return '[{"a":'.repeat(half) + "0" + "}]".repeat(half);
}

/** JSON text of a value holding deep-nesting markers, with the markers expanded. */
export function toJsonText(v: unknown): string {
  return JSON.stringify(v).replace(/"\\u0001DEEP:(array|object|mixed):(\d+)\\u0001"/g, (_m, shape: string, d: string) =>
    nesting(shape as "array" | "object" | "mixed", Number(d)),
  );
}

/** How a present value is turned into another type. */
export type Retype = "string" | "number" | "wrap" | "unwrap" | "stringify" | "box" | "null" | "empty";

/** One edit of an event: `at` picks the slot (modulo the slots there are when it applies). */
export type Mutation =
  | { readonly kind: "delete"; readonly at: number }
  | { readonly kind: "replace"; readonly at: number; readonly value: Wrong }
  | { readonly kind: "retype"; readonly at: number; readonly how: Retype }
  | { readonly kind: "add"; readonly at: number; readonly key: string; readonly value: Wrong };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: wrongArb }),
  fc.record({
    kind: fc.constant("retype" as const),
    at: fc.nat(),
    how: fc.constantFrom<Retype>("string", "number", "wrap", "unwrap", "stringify", "box", "null", "empty"),
  }),
  fc.record({
    kind: fc.constant("add" as const),
    at: fc.nat(),
    key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 12 })),
    value: wrongArb,
  }),
);

type Container = Record<string, unknown> | unknown[];
interface Slot {
  readonly parent: Container;
  readonly key: string | number;
}

const MAX_SLOTS = 5_000;

/** Every (container, key) of a value, breadth first, at most MAX_SLOTS. */
function slots(root: Container): { slots: Slot[]; containers: Container[] } {
  const out: Slot[] = [];
  const containers: Container[] = [root];
  for (let i = 0; i < containers.length && out.length < MAX_SLOTS; i++) {
    const c = containers[i]!;
    const keys: Array<string | number> = Array.isArray(c) ? c.map((_x, j) => j) : Object.keys(c);
    for (const k of keys) {
      out.push({ parent: c, key: k });
      const v = (c as Record<string | number, unknown>)[k];
      if (v !== null && typeof v === "object") containers.push(v as Container);
    }
  }
  return { slots: out, containers };
}

function retype(v: unknown, how: Retype): unknown {
  switch (how) {
    case "string":
      return typeof v === "string" ? v : JSON.stringify(v);
    case "number": {
      const n = typeof v === "number" ? v + 1 : typeof v === "string" || typeof v === "boolean" ? Number(v) : NaN;
      return Number.isFinite(n) ? n : -1;
    }
    case "wrap":
      return [v];
    case "unwrap":
      return Array.isArray(v)
        ? (v[0] ?? null)
        : v !== null && typeof v === "object"
          ? (Object.values(v)[0] ?? null)
          : v;
    case "stringify":
      return JSON.stringify(v) ?? "null";
    case "box":
      return { value: v };
    case "null":
      return null;
    case "empty":
      return Array.isArray(v) ? [] : v !== null && typeof v === "object" ? {} : "";
  }
}

/** Applies the mutations in order to a copy of `event`; returns the JSON text of the result. */
export function mutate(event: Record<string, unknown>, ops: readonly Mutation[]): string {
  const root = structuredClone(event);
  for (const op of ops) {
    const { slots: all, containers } = slots(root);
    if (op.kind === "add") {
      const c = containers[op.at % containers.length]!;
      if (Array.isArray(c)) c.push(materialize(op.value));
      else setOwn(c, op.key, materialize(op.value));
      continue;
    }
    if (all.length === 0) continue;
    const s = all[op.at % all.length]!;
    const p = s.parent as Record<string | number, unknown>;
    if (op.kind === "delete") {
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete p[s.key];
    } else if (op.kind === "replace") p[s.key] = materialize(op.value);
    else p[s.key] = retype(p[s.key], op.how);
  }
  return toJsonText(root);
}
