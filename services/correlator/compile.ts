/**
 * Compiles a rule's validated `match` tree (json-rules-engine's condition format) into one plain synchronous
 * function per rule, generated from the tree: the code is only structure (reads, comparisons, &&, ||, !), and
 * every fact name, path member and condition value is a constant held outside it, never spliced into it.
 *
 * The semantics are json-rules-engine 7.3.1's, as Riposte configures it (`allowUndefinedFacts`, our path
 * resolver, the event's own fields and `event` as facts); compile.test.ts checks them against the library:
 * - a fact is an own field of the event, or `event` itself; a missing fact is `undefined`;
 * - a path is only applied when the fact value is an object; otherwise the fact value itself is compared;
 *   path segments are read as `valueAt` reads them;
 * - a value `{fact, path}` is the value of that other fact;
 * - `all` of nothing is true, and so is `any` of nothing;
 * - the default operators with their type checks: `contains`/`doesNotContain` need a list fact, the numeric
 *   ones a fact that `parseFloat` reads as a number, `in`/`notIn` look the fact up with `indexOf`.
 *
 * Where json-rules-engine throws on data (a TypeError turning an object whose `toString`/`valueOf` are data
 * fields into a number or a string, which fails the whole run), the compiled condition is false instead.
 * Conditions that would throw whatever the event (`in` with a number, a pattern taken from another fact) are
 * refused at compile time with RIPOSTE_RULE_INVALID, and so are values with a `__proto__` member (the library's
 * clone makes it a prototype). Events are plain data (JSON-like objects with Object.prototype or no prototype).
 */
import type { ConditionShape } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { CUSTOM_OPERATORS, prepareOperator, type CustomOperator, type NamedLists } from "./operators.ts";

/** A normalized event, as plain data. */
export type EventData = object;
/** A compiled condition. */
export type Predicate = (event: EventData) => boolean;
/** Reads one fact (and path) from an event. */
export type Reader = (event: EventData) => unknown;

const hasOwn = (o: object, key: string): boolean => Object.hasOwn(o, key);
export const isCustom = (op: string): op is CustomOperator => (CUSTOM_OPERATORS as readonly string[]).includes(op);
const NUMERIC = new Set(["lessThan", "lessThanInclusive", "greaterThan", "greaterThanInclusive"]);
/** Operators whose value may be another fact: those that do not compile the value into a pattern or a list. */
const DYNAMIC_OK = new Set([
  "equal",
  "notEqual",
  "contains",
  "doesNotContain",
  ...NUMERIC,
  "containsi",
  "startsWith",
  "endsWith",
  "exists",
]);

const invalid = (message: string) => new RiposteError("RIPOSTE_RULE_INVALID", message);

/** The path's member names, as `valueAt` splits them. */
export function pathParts(path: string): string[] {
  return path
    .replace(/^\$\.?/, "")
    .split(".")
    .filter((p) => p !== "");
}

/**
 * Builds one generated function, `function (e) { let t0, ...; return <expression>; }`. The code holds only
 * structure (reads, comparisons, &&, ||, !); every fact name, path member, condition value and helper is a constant
 * passed in (`k[i]`), never text in the code. Each rule is one function of its own, so V8 keeps per-rule type
 * feedback (a rule the index only shows one format's events stays monomorphic on that format's shapes) and has
 * one function per rule to optimize.
 */
class Gen {
  private readonly consts: unknown[] = [];
  private temps = 0;
  private readonly table: FieldTable | undefined;
  private readonly known: KnownValues | undefined;
  private readonly knownLeaves: KnownLeaves | undefined;
  /** The table's constants in this function, once each. */
  private tableNames: { stamps: string; values: string } | undefined;

  constructor(opts: GenOptions = {}) {
    this.table = opts.table;
    this.known = opts.known;
    this.knownLeaves = opts.knownLeaves;
  }

  /** The result an index node above has already found the leaf to have, if the caller is compiled under it. */
  knownLeaf(c: ConditionShape): boolean | undefined {
    if (this.knownLeaves === undefined || this.knownLeaves.size === 0) return undefined;
    const key = leafKeyOf(c);
    return key === undefined ? undefined : this.knownLeaves.get(key);
  }

  /**
   * The value an index branch has already found the field to have, if the caller is compiled under that
   * branch: the branch's key, SameValueZero-equal to the field's value (never NaN).
   */
  knownValue(fact: unknown, path: unknown): { value: unknown } | undefined {
    if (this.known === undefined || typeof fact !== "string") return undefined;
    const key = fieldKeyOf(fact, typeof path === "string" ? path : undefined);
    return this.known.has(key) ? { value: this.known.get(key) } : undefined;
  }

  /** A name in the generated code for a constant value. */
  k(value: unknown): string {
    this.consts.push(value);
    return `k${this.consts.length - 1}`;
  }

  /** A fresh temporary of the function. */
  t(): string {
    return `t${this.temps++}`;
  }

  /** An expression reading `fact` then, when its value is an object, `path` in it. */
  reader(fact: unknown, path: unknown): string {
    const direct = this.directReader(fact, path);
    const table = this.table;
    if (table === undefined || typeof fact !== "string") return direct;
    // Read once per event, whichever rule or index node asks first: the slot holds the value, stamped with the
    // evaluation's number `ep` (a parameter of every function that uses the table).
    const i = table.slot(fieldKeyOf(fact, typeof path === "string" ? path : undefined));
    this.tableNames ??= { stamps: this.k(table.stamps), values: this.k(table.values) };
    const { stamps: S, values: V } = this.tableNames;
    return `(${S}[${i}] === ep ? ${V}[${i}] : ((${S}[${i}] = ep), (${V}[${i}] = ${direct})))`;
  }

  /**
   * A leaf's test evaluated at most once per event however many rules have the same leaf (the same field,
   * operator and value): its result goes to a slot of the table. Only leaves whose value JSON spells exactly
   * (strings, booleans, finite numbers, lists of those) share a slot; any other is evaluated where it stands.
   */
  memo(c: ConditionShape, test: string): string {
    const table = this.table;
    const key = leafKeyOf(c);
    if (table === undefined || key === undefined) return test;
    const i = table.slot(key);
    this.tableNames ??= { stamps: this.k(table.stamps), values: this.k(table.values) };
    const { stamps: S, values: V } = this.tableNames;
    return `(${S}[${i}] === ep ? ${V}[${i}] : ((${S}[${i}] = ep), (${V}[${i}] = ${test})))`;
  }

  private directReader(fact: unknown, path: unknown): string {
    let base: string;
    // json-rules-engine builds its fact map from the own enumerable keys of `{ ...event, event }`.
    if (fact === "event") base = "e";
    else if (typeof fact !== "string") base = "undefined";
    else if (fact in Object.prototype) {
      // A name Object.prototype also has (constructor, __proto__, ...) is a fact only as the event's own field.
      const f = this.k(fact);
      base = `(${this.k(hasOwn)}(e, ${f}) ? e[${f}] : undefined)`;
    } else base = `e[${this.k(fact)}]`;
    if (!path) return base;
    if (typeof path !== "string") throw invalid(`path ${JSON.stringify(path)} is not a string`);
    const parts = pathParts(path);
    if (parts.length === 0) return base;
    // As json-rules-engine: the path applies only to an object; then each member as valueAt reads it.
    const v = this.t();
    const c = this.t();
    let rest = c;
    for (const p of parts.slice(1).reverse()) {
      rest = `(${c} === null || typeof ${c} !== "object" ? undefined : ((${c} = ${c}[${this.k(p)}]), ${rest}))`;
    }
    return `((${v} = ${base}), ${v} === null || typeof ${v} !== "object" ? ${v} : ((${c} = ${v}[${this.k(parts[0])}]), ${rest}))`;
  }

  build<F>(expression: string): F {
    return this.make<F>("e", `return ${expression};`);
  }

  /** `function (<params>) { let <temps>; <statements> }` over the constants. */
  make<F>(params: string, statements: string): F {
    const header = this.consts.map((_, i) => `const k${i} = k[${i}];`).join("\n");
    const temps = Array.from({ length: this.temps }, (_, i) => `t${i}`);
    const body = `${temps.length > 0 ? `let ${temps.join(", ")};\n` : ""}${statements}`;
    const source = `"use strict";\n${header}\nreturn function (${params}) {\n${body}\n};`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- structure only; every value is a constant in k
    const make = new Function("k", source) as (k: readonly unknown[]) => F;
    return make(this.consts);
  }
}

const exactScalar = (v: unknown) =>
  typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0));
/** A value JSON.stringify spells exactly, so that two values with one spelling are the same value. */
export function exactJson(v: unknown): boolean {
  if (!Array.isArray(v)) return exactScalar(v);
  // An indexed loop: a hole is no scalar (JSON spells it null).
  for (let i = 0; i < v.length; i++) if (!exactScalar(v[i])) return false;
  return true;
}

/**
 * The key of a leaf that rules can share (its result computed once per event): its fact, path members, operator
 * and value, when the fact is a name and the value JSON spells exactly; undefined for any other leaf.
 */
export function leafKeyOf(c: ConditionShape): string | undefined {
  if (typeof c.fact !== "string" || !exactJson(c.value)) return undefined;
  const path = typeof c.path === "string" ? pathParts(c.path) : [];
  return JSON.stringify(["leaf", c.fact, path, c.operator, c.value]);
}

/** Reads `fact` then, when its value is an object, `path` in it. */
export function readerOf(fact: unknown, path: unknown): Reader {
  const g = new Gen();
  return g.build<Reader>(g.reader(fact, path));
}

/** A field's key: its fact and path members, as `valueAt` splits them ("$.a.b" and "a.b" are one field). */
export function fieldKeyOf(fact: string, path: string | undefined): string {
  return JSON.stringify([fact, typeof path === "string" ? pathParts(path) : []]);
}

/** Field key → the value an index branch found the field to have. */
export type KnownValues = ReadonlyMap<string, unknown>;
/** Leaf key (leafKeyOf) → the result an index node found the leaf to have. */
export type KnownLeaves = ReadonlyMap<string, boolean>;

/** What a generated function is compiled with: the field table, and what the index above it has decided. */
export interface GenOptions {
  readonly table?: FieldTable;
  readonly known?: KnownValues;
  readonly knownLeaves?: KnownLeaves;
}

/**
 * The values of the fields a rule set reads, each read at most once per evaluation and shared by every rule and
 * index node: slot i holds a value, valid while stamps[i] is the evaluation's number. Owned by one CompiledRules;
 * a slot keeps a reference to a part of the last event until a later event overwrites it.
 */
export class FieldTable {
  readonly stamps: number[] = [];
  readonly values: unknown[] = [];
  private readonly slots = new Map<string, number>();

  slot(key: string): number {
    let i = this.slots.get(key);
    if (i === undefined) {
      i = this.stamps.length;
      this.slots.set(key, i);
      this.stamps.push(0);
      this.values.push(undefined);
    }
    return i;
  }

  /** Forgets every value (the evaluation numbers start again at 1 after this). */
  reset(): void {
    this.stamps.fill(0);
    this.values.fill(undefined);
  }
}

/** Reads a field through the table: `(event, ep)`, ep the evaluation's number. */
export type TableReader = (event: EventData, ep: number) => unknown;

/** readerOf through a field table. */
export function tableReaderOf(table: FieldTable, fact: string, path: string | undefined): TableReader {
  const g = new Gen({ table });
  return g.make<TableReader>("e, ep", `return ${g.reader(fact, path)};`);
}

/** Tests one leaf through a field table, its result shared with the rules that have it: `(event, ep)`. */
export type TableTest = (event: EventData, ep: number) => boolean;

/** A leaf (checked by checkCondition) as a TableTest. */
export function tableTestOf(table: FieldTable, c: ConditionShape, lists: NamedLists): TableTest {
  const g = new Gen({ table });
  return g.make<TableTest>("e, ep", `return ${leaf(g, c, lists)};`);
}

/** json-rules-engine reads `{fact: ...}` as a reference to another fact's value. */
export function isFactReference(value: unknown): value is { fact: unknown; path?: unknown } {
  return value !== null && typeof value === "object" && hasOwn(value, "fact");
}

/** json-rules-engine's numeric fact check, `parseFloat(x).toString() !== 'NaN'`, without the string. */
export function numeric(a: unknown): boolean {
  if (typeof a === "number") return a === a;
  if (typeof a !== "object" || a === null) return !Number.isNaN(Number.parseFloat(a as string));
  try {
    return !Number.isNaN(Number.parseFloat(a as unknown as string));
  } catch {
    return false;
  }
}

/** a < b and friends with JavaScript's coercions; an operand that cannot be converted makes it false. */
export function compare(op: string, a: unknown, b: unknown): boolean {
  const x = a as number;
  const y = b as number;
  try {
    if (op === "lessThan") return x < y;
    if (op === "lessThanInclusive") return x <= y;
    if (op === "greaterThan") return x > y;
    return x >= y;
  } catch {
    return false;
  }
}

const isPrimitiveOrNull = (v: unknown) => v === null || (typeof v !== "object" && typeof v !== "function");

/** `b.indexOf(a)` on a string: the fact is converted to a string, which may throw for an object. */
export function inString(b: string, a: unknown, negate: boolean): boolean {
  let found: boolean;
  try {
    found = b.indexOf(a as string) > -1;
  } catch {
    return false;
  }
  return found !== negate;
}

const SYMBOL: Record<string, string> = {
  lessThan: "<",
  lessThanInclusive: "<=",
  greaterThan: ">",
  greaterThanInclusive: ">=",
};

function numericLeaf(g: Gen, op: string, read: string, b: unknown): string {
  const B = g.k(b);
  const a = g.t();
  const general = `${g.k(numeric)}(${a}) && ${g.k(compare)}(${g.k(op)}, ${a}, ${B})`;
  // The usual case, a number against a number, inline; any other fact takes the general path.
  if (typeof b === "number")
    return `((${a} = ${read}), typeof ${a} === "number" ? ${a} ${SYMBOL[op] as string} ${B} : ${general})`;
  if (!isPrimitiveOrNull(b)) {
    try {
      void ((b as number) < 0);
    } catch {
      throw invalid(`${op} compares with a value that is not a number, a string or a list`);
    }
  }
  return `((${a} = ${read}), ${general})`;
}

/** `b.indexOf(a)` as json-rules-engine's `in` runs it: strict equality in a list, a substring in a string. */
function inLeaf(g: Gen, read: string, b: unknown, negate: boolean): string {
  if (typeof b === "string") return `${g.k(inString)}(${g.k(b)}, ${read}, ${g.k(negate)})`;
  if (!Array.isArray(b)) throw invalid(`${negate ? "notIn" : "in"} needs a list of values`);
  if (b.length <= 16) return `(${g.k(b)}.indexOf(${read}) ${negate ? "=== -1" : "> -1"})`;
  // A Set finds NaN where indexOf does not; NaN is never found, as with indexOf.
  const S = g.k(new Set(b));
  const a = g.t();
  return negate
    ? `((${a} = ${read}), ${a} !== ${a} || !${S}.has(${a}))`
    : `((${a} = ${read}), ${a} === ${a} && ${S}.has(${a}))`;
}

/** A default operator with a value known only at evaluation (a fact reference). */
export function dynamicDefault(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case "equal":
      return a === b;
    case "notEqual":
      return a !== b;
    case "contains":
      return Array.isArray(a) && a.indexOf(b) > -1;
    case "doesNotContain":
      return Array.isArray(a) && a.indexOf(b) === -1;
    default:
      return numeric(a) && compare(op, a, b);
  }
}

/** True when a condition value holds a `__proto__` member: json-rules-engine's clone turns it into a prototype. */
function hasProtoKey(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (hasOwn(v, "__proto__")) return true;
  return Object.values(v).some(hasProtoKey);
}

/**
 * A leaf on a field whose value the index branch already knows (a primitive, never NaN), decided at compile time
 * exactly as the generated code would decide it; undefined for operators left to run.
 */
export function foldKnown(op: string, v: unknown, b: unknown): boolean | undefined {
  switch (op) {
    case "equal":
      return v === b;
    case "notEqual":
      return v !== b;
    case "in":
    case "notIn":
      if (typeof b === "string") return inString(b, v, op === "notIn");
      if (!Array.isArray(b)) return undefined;
      return b.indexOf(v) > -1 !== (op === "notIn");
  }
  if (NUMERIC.has(op) && isPrimitiveOrNull(b)) return numeric(v) && compare(op, v, b);
  return undefined;
}

/** A leaf as an expression. */
function leaf(g: Gen, c: ConditionShape, lists: NamedLists): string {
  const op = c.operator ?? "";
  if (!hasOwn(c, "value")) throw invalid(`condition on ${String(c.fact)} (${op}) has no value`);
  const b = c.value;
  if (hasProtoKey(b)) throw invalid(`${op}: a value cannot have a __proto__ member`);
  const decided = g.knownLeaf(c);
  if (decided !== undefined) return decided ? "true" : "false";
  const read = g.reader(c.fact, c.path);
  if (isFactReference(b)) {
    if (!DYNAMIC_OK.has(op)) throw invalid(`${op} cannot take its value from another fact`);
    const readB = g.reader(b.fact, b.path);
    // The value first, as json-rules-engine resolves it (no effects either way).
    if (isCustom(op)) return `${g.k(prepareOperator)}(${g.k(op)}, ${readB}, ${g.k(lists)})(${read})`;
    return `${g.k(dynamicDefault)}(${g.k(op)}, ${read}, ${readB})`;
  }
  const known = g.knownValue(c.fact, c.path);
  if (known !== undefined) {
    const folded = foldKnown(op, known.value, b);
    if (folded !== undefined) return folded ? "true" : "false";
  }
  const a = () => g.t();
  switch (op) {
    case "equal":
      return `(${read} === ${g.k(b)})`;
    case "notEqual":
      return `(${read} !== ${g.k(b)})`;
    case "in":
      return inLeaf(g, read, b, false);
    case "notIn":
      return inLeaf(g, read, b, true);
    case "contains": {
      const t = a();
      return g.memo(c, `((${t} = ${read}), Array.isArray(${t}) && ${t}.indexOf(${g.k(b)}) > -1)`);
    }
    case "doesNotContain": {
      const t = a();
      return g.memo(c, `((${t} = ${read}), Array.isArray(${t}) && ${t}.indexOf(${g.k(b)}) === -1)`);
    }
  }
  if (NUMERIC.has(op)) return numericLeaf(g, op, read, b);
  if (!isCustom(op)) throw invalid(`unknown operator "${op}"`);
  let test;
  try {
    test = prepareOperator(op, b, lists);
  } catch (e) {
    throw invalid(`${op}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return g.memo(c, `${g.k(test)}(${read})`);
}

/** A rough cost, so that `all`/`any` try cheap conditions before patterns. */
function cost(c: ConditionShape): number {
  if (c.all) return c.all.reduce((n, x) => n + cost(x), 1);
  if (c.any) return c.any.reduce((n, x) => n + cost(x), 1);
  if (c.not) return cost(c.not) + 1;
  if (isFactReference(c.value)) return 4;
  switch (c.operator) {
    case "regex":
    case "wildcard":
    case "cidr":
      return 8;
    case "containsi":
    case "inList":
      return 4;
    case "startsWith":
    case "endsWith":
    case "contains":
    case "doesNotContain":
      return 2;
    default:
      return 1;
  }
}

export const byCost = (xs: readonly ConditionShape[]) =>
  xs
    .map((c, i) => ({ c, i, k: cost(c) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.c);

function expr(g: Gen, c: ConditionShape, lists: NamedLists): string {
  // The order json-rules-engine checks the boolean operators in; an empty list passes, for `any` as for `all`.
  if (hasOwn(c, "any")) {
    if (!Array.isArray(c.any)) throw invalid(`"any" must be a list`);
    const xs = byCost(c.any).map((x) => expr(g, x, lists));
    if (xs.length === 0 || xs.includes("true")) return "true";
    const left = xs.filter((x) => x !== "false");
    return left.length === 0 ? "false" : `(${left.join(" || ")})`;
  }
  if (hasOwn(c, "all")) {
    if (!Array.isArray(c.all)) throw invalid(`"all" must be a list`);
    const xs = byCost(c.all).map((x) => expr(g, x, lists));
    if (xs.includes("false")) return "false";
    const left = xs.filter((x) => x !== "true");
    return left.length === 0 ? "true" : `(${left.join(" && ")})`;
  }
  if (hasOwn(c, "not")) {
    if (c.not === undefined || c.not === null || Array.isArray(c.not)) throw invalid(`"not" must be one condition`);
    const x = expr(g, c.not, lists);
    return x === "true" ? "false" : x === "false" ? "true" : `!${x}`;
  }
  return leaf(g, c, lists);
}

/**
 * Compiles a condition tree into one generated function. A leaf at the root means the leaf alone
 * (json-rules-engine wants a boolean root; ReferenceRuleSet wraps such a leaf in `all`). Throws
 * RIPOSTE_RULE_INVALID for what cannot be evaluated.
 */
export function compileCondition(c: ConditionShape, lists: NamedLists): Predicate {
  const g = new Gen();
  return g.build<Predicate>(expr(g, c, lists));
}

/** Throws RIPOSTE_RULE_INVALID, as compileCondition would, without generating the function. */
export function checkCondition(c: ConditionShape, lists: NamedLists): void {
  expr(new Gen(), c, lists);
}

/**
 * Evaluates several rules on an event, writing the positions of those that match to `hits` from `n`; new `n`.
 * `ep` is the evaluation's number for the field table.
 */
export type Batch = (event: EventData, hits: Int32Array, n: number, ep: number) => number;

/**
 * Compiles several already-checked conditions into one function: the rules the index shows the same events are
 * evaluated without a call each (a call to one of thousands of functions cannot be inlined).
 */
export function compileBatch(
  rules: readonly { readonly match: ConditionShape; readonly position: number }[],
  lists: NamedLists,
  opts: GenOptions = {},
): Batch {
  const g = new Gen(opts);
  const lines: string[] = [];
  for (const r of rules) {
    // A condition the index branch already decided: false is no code, true no test.
    const test = expr(g, r.match, lists);
    if (test === "false") continue;
    const hit = `hits[n++] = ${g.k(r.position)};`;
    lines.push(test === "true" ? hit : `if (${test}) ${hit}`);
  }
  return g.make<Batch>("e, hits, n, ep", `${lines.join("\n")}\nreturn n;`);
}
