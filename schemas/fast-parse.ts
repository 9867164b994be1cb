/**
 * A fast path for parsing with a zod schema: `fastParser(schema)` walks the schema once and builds plain closures
 * that accept a value and return what zod's `safeParse` would return as `data`, or FAIL.
 *
 * It only ever accepts: anything it is unsure of (a failing value, a schema kind or check it does not know, a
 * symbol key, an object with an odd prototype) is FAIL, and the caller then asks zod itself, which gives the verdict
 * and the error message. So zod stays the source of truth: the fast path accepts a value only when zod accepts it,
 * and builds the same output (unknown keys stripped, shape order, loose objects' extra keys after them).
 * Subschemas it cannot read are run by zod (`_zod.run`), exactly as zod's own object parser runs a property.
 */
import { types } from "node:util";
import type { z } from "zod";

/** What a fast parser returns when it does not accept the value. */
export const FAIL: unique symbol = Symbol("fast-parse-fail");

type Parse = (v: unknown) => unknown;

interface Internals {
  readonly def: Readonly<Record<string, unknown>> & { readonly type: string };
  readonly traits: ReadonlySet<string>;
  readonly optin?: string;
  readonly optout?: string;
  readonly values?: ReadonlySet<unknown>;
  run(payload: { value: unknown; issues: unknown[] }, ctx: { async: false }): unknown;
}

const internals = (s: unknown): Internals => (s as { _zod: Internals })._zod;

const CTX = { async: false } as const;

/** The subschema run by zod itself: its verdict and output, as a property of a zod object would get them. */
function byZod(s: Internals): Parse {
  return (v) => {
    const r = s.run({ value: v, issues: [] }, CTX) as { value: unknown; issues: unknown[] } | Promise<unknown>;
    if (r instanceof Promise || r.issues.length > 0) return FAIL;
    return r.value;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks of a plain number or string the fast path knows, as predicates that imply zod's check passes. */
function checkPredicate(check: unknown): ((v: never) => boolean) | undefined {
  const def = internals(check).def;
  switch (def["check"]) {
    case "number_format":
      return def["format"] === "safeint" ? (v: number) => Number.isSafeInteger(v) : undefined;
    case "greater_than": {
      const min = def["value"];
      if (typeof min !== "number") return undefined;
      return def["inclusive"] === true ? (v: number) => v >= min : (v: number) => v > min;
    }
    case "less_than": {
      const max = def["value"];
      if (typeof max !== "number") return undefined;
      return def["inclusive"] === true ? (v: number) => v <= max : (v: number) => v < max;
    }
    case "min_length": {
      // zod counts code points: one unit is at least one code point, and twice the floor in UTF-16 units always
      // clears it (in between, zod decides).
      const min = def["minimum"];
      if (typeof min !== "number") return undefined;
      return min <= 1 ? (v: string) => v.length >= min : (v: string) => v.length >= 2 * min;
    }
    default:
      return undefined;
  }
}

/** A plain string, number or boolean (no coercion, no format) with checks the fast path knows. */
function primitive(s: Internals, type: "string" | "number" | "boolean"): Parse | undefined {
  if (s.def["coerce"] === true || s.traits.has("$ZodCheck")) return undefined;
  const checks = (s.def["checks"] as readonly unknown[] | undefined) ?? [];
  const preds: Array<(v: never) => boolean> = [];
  for (const c of checks) {
    const p = checkPredicate(c);
    if (!p) return undefined;
    preds.push(p);
  }
  const slow = byZod(s);
  if (type === "number") {
    if (preds.length === 0) return (v) => (typeof v === "number" && Number.isFinite(v) ? v : FAIL);
    return (v) => {
      if (typeof v !== "number" || !Number.isFinite(v)) return FAIL;
      for (const p of preds) if (!(p as (x: number) => boolean)(v)) return slow(v);
      return v;
    };
  }
  if (type === "string") {
    if (preds.length === 0) return (v) => (typeof v === "string" ? v : FAIL);
    return (v) => {
      if (typeof v !== "string") return FAIL;
      for (const p of preds) if (!(p as (x: string) => boolean)(v)) return slow(v);
      return v;
    };
  }
  return preds.length === 0 ? (v) => (typeof v === "boolean" ? v : FAIL) : undefined;
}

interface Property {
  readonly key: string;
  readonly parse: Parse;
  /** Optional in and out (`.optional()`): absent is fine, and present-but-undefined stays a key. */
  readonly optional: boolean;
}

function object(s: Internals, compile: (x: unknown) => Parse, generate: boolean): Parse | undefined {
  const shape = s.def["shape"] as Readonly<Record<string, unknown>>;
  if (Object.getOwnPropertySymbols(shape).length > 0) return undefined;
  const catchall = s.def["catchall"];
  let loose = false;
  if (catchall !== undefined) {
    if (internals(catchall).def.type !== "unknown") return undefined;
    loose = true;
  }
  const props: Property[] = [];
  for (const key of Object.keys(shape)) {
    if (key === "__proto__") return undefined;
    const el = internals(shape[key]);
    const optional = el.optin === "optional" && el.optout === "optional";
    if (!optional && el.optin !== undefined) return undefined;
    props.push({ key, parse: compile(shape[key]), optional });
  }
  const keys = new Set(Object.keys(shape));
  return (generate ? generated(props, loose, keys) : undefined) ?? interpreted(props, loose, keys);
}

/** The object parser as plain closures (where code cannot be generated). */
function interpreted(props: readonly Property[], loose: boolean, keys: ReadonlySet<string>): Parse {
  return (v) => {
    if (!isObject(v)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const p of props) {
      const present = p.key in v;
      const value = v[p.key];
      if (p.optional && value === undefined) {
        if (present) out[p.key] = undefined;
        continue;
      }
      if (!present) return FAIL;
      const r = p.parse(value);
      if (r === FAIL) return FAIL;
      out[p.key] = r;
    }
    if (loose) for (const k in v) if (!keys.has(k) && k !== "__proto__") out[k] = v[k];
    return out;
  };
}

/**
 * The same parser as generated code: one constant property access per key, which the engine caches by shape, where
 * the interpreted loop makes every access a lookup by a variable key. The code holds only structure: keys are
 * written as JSON string literals, and the property parsers are passed in. Plain objects go through the parser that
 * reads their own keys (ownKeysSource), the rest through the one that probes the shape's keys (probingSource).
 */
function generated(props: readonly Property[], loose: boolean, keys: ReadonlySet<string>): Parse | undefined {
  const probing = make(probingSource(props, loose), props, keys, undefined);
  // A shape key that Object.prototype has (`constructor`, `toString`) is inherited by every object: only probing
  // sees it.
  if (!probing || props.some((p) => p.key in Object.prototype)) return probing;
  return make(ownKeysSource(props, loose), props, keys, probing) ?? probing;
}

const constants = (props: readonly Property[]) => props.map((_, i) => `const p${i} = parsers[${i}];`).join("\n");

/** Every key of the shape probed in turn: `in` and a load each, present or not. */
function probingSource(props: readonly Property[], loose: boolean): string {
  const lines = props.map((p, i) => {
    const k = JSON.stringify(p.key);
    return p.optional
      ? `x = v[${k}]; if (x === undefined) { if (${k} in v) out[${k}] = undefined; } ` +
          `else { r = p${i}(x); if (r === FAIL) return FAIL; out[${k}] = r; }`
      : `if (!(${k} in v)) return FAIL; r = p${i}(v[${k}]); if (r === FAIL) return FAIL; out[${k}] = r;`;
  });
  return (
    `"use strict";\n${constants(props)}\n` +
    `return function (v) {\n` +
    `if (typeof v !== "object" || v === null || Array.isArray(v)) return FAIL;\n` +
    `const out = {}; let x, r;\n${lines.join("\n")}\n` +
    (loose ? `for (const k in v) if (!keys.has(k) && k !== "__proto__") out[k] = v[k];\n` : "") +
    `return out;\n};`
  );
}

/**
 * The object's own keys visited once (for-in), each matched to its place in the shape, then the output built in
 * shape order: an event's objects hold a few of their schema's many optional keys, and probing the absent ones (on
 * objects of many shapes, where the engine's caches miss) was most of the time of a parse. It gives what probing
 * gives for an object whose prototype is Object.prototype or null, that is no proxy, and whose for-in keys are all
 * of its own keys (none inherited, none non-enumerable): then a shape key is in the object exactly when for-in visits
 * it, as no shape key is a property of Object.prototype (checked when built; data cannot make a non-enumerable one
 * there: only code can). A proxy is FAIL (zod decides); any other object goes to the probing parser.
 */
function ownKeysSource(props: readonly Property[], loose: boolean): string {
  const cases = props.map((p, i) => `case ${JSON.stringify(p.key)}: x${i} = v[k]; s${i} = true; break;`);
  const emit = props.map((p, i) => {
    const k = JSON.stringify(p.key);
    const take = `r = p${i}(x${i}); if (r === FAIL) return FAIL; out[${k}] = r;`;
    return p.optional
      ? `if (s${i}) { if (x${i} === undefined) out[${k}] = undefined; else { ${take} } }`
      : `if (!s${i}) return FAIL; ${take}`;
  });
  const locals = props.map((_, i) => `x${i}, s${i} = false`);
  return (
    `"use strict";\n${constants(props)}\n` +
    `return function (v) {\n` +
    `if (typeof v !== "object" || v === null || Array.isArray(v)) return FAIL;\n` +
    // A proxy's traps may answer for-in, `in` and reads each their own way: zod decides.
    `if (isProxy(v)) return FAIL;\n` +
    `const proto = Object.getPrototypeOf(v);\n` +
    `if (proto !== Object.prototype && proto !== null) return probe(v);\n` +
    (locals.length > 0 ? `let ${locals.join(", ")};\n` : "") +
    `let own = 0, extra = false;\n` +
    `for (const k in v) {\n` +
    `if (!Object.hasOwn(v, k)) return probe(v);\n` +
    `own++;\n` +
    `switch (k) {\n${cases.join("\n")}\ndefault: extra = true;\n}\n}\n` +
    `if (own !== Object.getOwnPropertyNames(v).length) return probe(v);\n` +
    `const out = {}; let r;\n${emit.join("\n")}\n` +
    (loose ? `if (extra) for (const k in v) if (!keys.has(k) && k !== "__proto__") out[k] = v[k];\n` : "") +
    `return out;\n};`
  );
}

type Factory = (
  parsers: readonly Parse[],
  keys: ReadonlySet<string>,
  fail: typeof FAIL,
  probe: Parse | undefined,
  isProxy: (v: unknown) => boolean,
) => Parse;

/** The parser a generated source defines, or undefined where code generation is refused. */
function make(
  source: string,
  props: readonly Property[],
  keys: ReadonlySet<string>,
  probe: Parse | undefined,
): Parse | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- structure only; keys are JSON literals
    const factory = new Function("parsers", "keys", "FAIL", "probe", "isProxy", source) as Factory;
    return factory(
      props.map((p) => p.parse),
      keys,
      FAIL,
      probe,
      types.isProxy,
    );
  } catch {
    // Code generation refused (--disallow-code-generation-from-strings): the closures do the same.
    return undefined;
  }
}

function record(s: Internals): Parse | undefined {
  const key = internals(s.def["keyType"]);
  const value = internals(s.def["valueType"]);
  if (key.def.type !== "string" || key.traits.has("$ZodCheck") || key.values !== undefined) return undefined;
  if (((key.def["checks"] as unknown[] | undefined) ?? []).length > 0 || key.def["coerce"] === true) return undefined;
  if (value.def.type !== "unknown" || s.def["mode"] === "loose") return undefined;
  return (v) => {
    if (!isObject(v)) return FAIL;
    // zod's plain-object test, accepted only where it is unambiguous: a plain prototype and no own `constructor`.
    const proto = Object.getPrototypeOf(v) as unknown;
    if ((proto !== Object.prototype && proto !== null) || Object.hasOwn(v, "constructor")) return FAIL;
    const out: Record<string, unknown> = {};
    for (const k of Reflect.ownKeys(v)) {
      if (typeof k !== "string" || !Object.prototype.propertyIsEnumerable.call(v, k)) return FAIL;
      if (k === "__proto__") continue;
      out[k] = v[k];
    }
    return out;
  };
}

function discriminatedUnion(s: Internals, compile: (x: unknown) => Parse): Parse | undefined {
  const disc = s.def["discriminator"];
  if (typeof disc !== "string" || s.def["unionFallback"] === true) return undefined;
  const byValue = new Map<unknown, Parse>();
  for (const option of s.def["options"] as readonly unknown[]) {
    const o = internals(option);
    if (o.def.type !== "object") return undefined;
    const tag = internals((o.def["shape"] as Record<string, unknown>)[disc]);
    if (tag.def.type !== "literal" || !tag.values) return undefined;
    const parse = compile(option);
    for (const value of tag.values) {
      if (byValue.has(value)) return undefined;
      byValue.set(value, parse);
    }
  }
  return (v) => {
    if (!isObject(v)) return FAIL;
    const parse = byValue.get(v[disc]);
    return parse ? parse(v) : FAIL;
  };
}

/**
 * A fast parser for `schema`: the value zod's `safeParse` would give as `data`, or FAIL when it is not sure zod
 * accepts the value (then ask zod). `generate: false` builds object parsers as closures instead of generated code
 * (what happens anyway where code generation is refused).
 */
export function fastParser(schema: z.ZodType, opts: { readonly generate?: boolean } = {}): Parse {
  const generate = opts.generate !== false;
  const memo = new Map<unknown, Parse>();
  const compile = (x: unknown): Parse => {
    const known = memo.get(x);
    if (known) return known;
    // A schema seen again before its parser is built (recursion) goes to zod; none of ours recurse.
    let built: Parse = byZod(internals(x));
    memo.set(x, built);
    built = build(x) ?? built;
    memo.set(x, built);
    return built;
  };
  const build = (x: unknown): Parse | undefined => {
    const s = internals(x);
    const checks = (s.def["checks"] as unknown[] | undefined) ?? [];
    switch (s.def.type) {
      case "string":
      case "number":
      case "boolean":
        return primitive(s, s.def.type);
      case "unknown":
      case "any":
        return checks.length === 0 ? (v) => v : undefined;
      case "literal": {
        const values = s.values;
        return values && checks.length === 0 ? (v) => (values.has(v) ? v : FAIL) : undefined;
      }
      case "optional": {
        const inner = internals(s.def["innerType"]);
        if (checks.length > 0 || inner.optin === "defaulted") return undefined;
        const parse = compile(s.def["innerType"]);
        return (v) => (v === undefined ? undefined : parse(v));
      }
      case "array": {
        if (checks.length > 0) return undefined;
        const parse = compile(s.def["element"]);
        return (v) => {
          if (!Array.isArray(v)) return FAIL;
          const out = new Array<unknown>(v.length);
          for (let i = 0; i < v.length; i++) {
            const r = parse(v[i]);
            if (r === FAIL) return FAIL;
            out[i] = r;
          }
          return out;
        };
      }
      case "object":
        return checks.length === 0 ? object(s, compile, generate) : undefined;
      case "record":
        return checks.length === 0 ? record(s) : undefined;
      case "union":
        return checks.length === 0 && s.def["discriminator"] !== undefined ? discriminatedUnion(s, compile) : undefined;
      default:
        return undefined;
    }
  };
  return compile(schema);
}

/** Each schema's fast parser, built on first use. */
const parsers = new WeakMap<z.ZodType, Parse>();

function parserOf(schema: z.ZodType): Parse {
  let p = parsers.get(schema);
  if (!p) {
    p = fastParser(schema);
    parsers.set(schema, p);
  }
  return p;
}

/** `schema.parse(value)` through the fast path: the same value, or the same error (zod decides what it refuses). */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const out = parserOf(schema)(value);
  return out === FAIL ? schema.parse(value) : (out as T);
}

/** `schema.safeParse(value)` through the fast path: the same verdict and value. */
export function safeParse<T>(schema: z.ZodType<T>, value: unknown): z.ZodSafeParseResult<T> {
  const out = parserOf(schema)(value);
  return out === FAIL ? schema.safeParse(value) : { success: true, data: out as T };
}
