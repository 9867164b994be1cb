/**
 * The rule programs: validated `match` trees turned into data (typed arrays) that one small interpreter runs, so
 * that thousands of rules are one hot loop rather than thousands of generated functions, each with its own warm-up
 * and a megamorphic call to reach it. Nothing from a rule becomes code: fields, leaves and programs are table
 * entries, and the evaluation of an event is linear in the candidates' programs.
 *
 * - A field (fact and path) has an id; its value is read at most once per event into a slot stamped with the
 *   evaluation's number (`ep`).
 * - A leaf (field, operator, value) has an id; its result is computed at most once per event into a stamped byte.
 *   Leaves whose value JSON spells exactly (compile.ts, exactJson) are shared by every rule that has them.
 * - A rule is a program in an Int32Array: `[LEAF, leaf]`, or `[ALL|ANY|NOT, end, children...]` where `end` is the
 *   index just past the node; `all`/`any` stop at their first false/true child, cheap children first (byCost).
 *   Leaves the index branch above decided (compile.ts, foldKnown) are folded away before the program is written.
 *
 * The semantics are compile.ts's (json-rules-engine 7.3.1's as Riposte configures it) leaf for leaf: the same
 * readers, the same operator code, the same refusals (conditions are checked with checkCondition first).
 */
import type { ConditionShape } from "../../schemas/index.ts";
import {
  byCost,
  compare,
  dynamicDefault,
  fieldKeyOf,
  foldKnown,
  inString,
  isCustom,
  isFactReference,
  leafKeyOf,
  numeric,
  pathParts,
  type EventData,
  type KnownLeaves,
  type KnownValues,
} from "./compile.ts";
import { anyString, prepareOperator, prepareStringTest, type NamedLists, type StringTest } from "./operators.ts";

/** Program opcodes. */
const LEAF = 0;
const ALL = 1;
const ANY = 2;
const NOT = 3;

/** How a field's fact is read from the event. */
const FACT_FIELD = 0;
/** A fact whose name Object.prototype also has: only the event's own field. */
const FACT_OWN = 1;
const FACT_EVENT = 2;
/** A fact that is not a name: never there. */
const FACT_NONE = 3;
/** A path member, read from the field one member shorter (its parent) and the fact (its root). */
const MEMBER = 4;

/** Leaf kinds: one per code shape of compile.ts's `leaf`. */
const EQUAL = 0;
const NOT_EQUAL = 1;
const IN_ARRAY = 2;
const NOT_IN_ARRAY = 3;
const IN_SET = 4;
const NOT_IN_SET = 5;
const IN_STRING = 6;
const NOT_IN_STRING = 7;
const CONTAINS = 8;
const NOT_CONTAINS = 9;
/** A numeric operator against a number: inline when the fact is a number too. */
const LESS = 10;
const LESS_EQUAL = 11;
const GREATER = 12;
const GREATER_EQUAL = 13;
/** A numeric operator against another value. */
const NUMERIC = 14;
/** A custom operator on the fact's strings (operators.ts, anyString), with its string test prepared. */
const STRINGS = 15;
/** A default operator whose value is another fact. */
const DYNAMIC_DEFAULT = 16;
/** A custom operator whose value is another fact. */
const DYNAMIC_CUSTOM = 17;
/** `exists`, with the presence it wants. */
const EXISTS = 18;
/** A custom operator whose value no fact can match. */
const NEVER = 19;

const NUMBER_KIND: Record<string, number> = {
  lessThan: LESS,
  lessThanInclusive: LESS_EQUAL,
  greaterThan: GREATER,
  greaterThanInclusive: GREATER_EQUAL,
};

/** A condition tree with the folded leaves gone: constants, leaf ids, and/or/not. */
type Folded =
  boolean | number | { readonly op: typeof ALL | typeof ANY; readonly xs: Folded[] } | { readonly not: Folded };

/** Growable Int32Array storage, trimmed by `view`. */
class Ints {
  data = new Int32Array(64);
  length = 0;
  push(v: number): number {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length] = v;
    return this.length++;
  }
}

/**
 * The fields and leaves of one rule set, and the interpreter over its programs. Owned by one CompiledRules;
 * a field slot keeps a reference to a part of the last event until a later event overwrites it.
 */
export class Programs {
  private readonly lists: NamedLists;
  // Fields.
  private readonly fieldIds = new Map<string, number>();
  private readonly fieldKind: number[] = [];
  private readonly fieldName: string[] = [];
  /** For a MEMBER, the field one member shorter and the fact's own field; -1 otherwise. */
  private readonly fieldParentList: number[] = [];
  private readonly fieldRootList: number[] = [];
  private fieldParent = new Int32Array(0);
  private fieldRoot = new Int32Array(0);
  private fieldStamp = new Int32Array(0);
  private readonly fieldValue: unknown[] = [];
  // Leaves.
  private readonly leafIds = new Map<string, number>();
  private readonly leafKindList: number[] = [];
  private readonly leafFieldList: number[] = [];
  /** The other fact of a leaf whose value is a fact reference, else -1. */
  private readonly leafOtherList: number[] = [];
  /** The condition value, prepared: the value, a Set, a StringTest, the presence `exists` wants, or the operator's
   * name for DYNAMIC_*. */
  private readonly leafValue: unknown[] = [];
  private readonly leafOperand: unknown[] = [];
  private leafKind = new Int32Array(0);
  private leafField = new Int32Array(0);
  private leafOther = new Int32Array(0);
  private leafStamp = new Int32Array(0);
  private leafResult = new Uint8Array(0);

  constructor(lists: NamedLists) {
    this.lists = lists;
  }

  /**
   * The id of a field, made on first use. A path is a chain of fields, one member each, so that fields with a
   * common prefix (riposte.format and riposte.source) read it once per event.
   */
  field(fact: unknown, path: unknown): number {
    const parts = typeof fact === "string" && typeof path === "string" ? pathParts(path) : [];
    const key = typeof fact === "string" ? fieldKeyOf(fact, parts.join(".")) : "none";
    const had = this.fieldIds.get(key);
    if (had !== undefined) return had;
    let kind: number;
    let parent = -1;
    let root = -1;
    if (parts.length > 0) {
      kind = MEMBER;
      root = this.field(fact, undefined);
      parent = this.field(fact, parts.slice(0, -1).join("."));
    } else if (typeof fact !== "string") kind = FACT_NONE;
    // json-rules-engine builds its fact map from the own enumerable keys of `{ ...event, event }`.
    else if (fact === "event") kind = FACT_EVENT;
    else if (fact in Object.prototype) kind = FACT_OWN;
    else kind = FACT_FIELD;
    const id = this.fieldKind.length;
    this.fieldIds.set(key, id);
    this.fieldKind.push(kind);
    this.fieldName.push(parts.length > 0 ? (parts[parts.length - 1] as string) : typeof fact === "string" ? fact : "");
    this.fieldParentList.push(parent);
    this.fieldRootList.push(root);
    this.fieldValue.push(undefined);
    return id;
  }

  /**
   * One rule set's rules at one index node, as one Int32Array: `[position, end, program...]` per rule, in order;
   * a rule the node's known values decide false is left out, one decided true has an empty program.
   */
  compile(
    rules: readonly { readonly match: ConditionShape; readonly position: number }[],
    known: KnownValues,
    knownLeaves: KnownLeaves = new Map(),
  ): Int32Array {
    const out = new Ints();
    for (const r of rules) {
      const f = this.fold(r.match, known, knownLeaves);
      if (f === false) continue;
      out.push(r.position);
      const end = out.push(0);
      if (f !== true) this.emit(f, out);
      out.data[end] = out.length;
    }
    return out.data.slice(0, out.length);
  }

  /** Forgets every value (the evaluation numbers start again at 1 after this). */
  reset(): void {
    this.fieldStamp.fill(0);
    this.fieldValue.fill(undefined);
    this.leafStamp.fill(0);
  }

  /**
   * Runs a node's rules (from `compile`) on the event; the positions of those that match go to `hits` from `n`.
   * Returns the new `n`. Most programs are one leaf or an `all` of leaves: those run here, each leaf's stamp
   * checked inline, without a call per node.
   */
  run(code: Int32Array, event: EventData, ep: number, hits: Int32Array, n: number): number {
    const stamps = this.leafStamp;
    const results = this.leafResult;
    const length = code.length;
    let p = 0;
    while (p < length) {
      const end = code[p + 1] as number;
      let pc = p + 2;
      let ok = true;
      if (pc < end) {
        const op = code[pc] as number;
        if (op === LEAF) {
          const id = code[pc + 1] as number;
          ok = stamps[id] === ep ? results[id] === 1 : this.fresh(id, event, ep);
        } else if (op === ALL) {
          pc += 2;
          while (pc < end) {
            if (code[pc] === LEAF) {
              const id = code[pc + 1] as number;
              if (stamps[id] === ep ? results[id] === 0 : !this.fresh(id, event, ep)) {
                ok = false;
                break;
              }
              pc += 2;
            } else {
              if (!this.eval(code, pc, event, ep)) {
                ok = false;
                break;
              }
              pc = code[pc + 1] as number;
            }
          }
        } else ok = this.eval(code, pc, event, ep);
      }
      if (ok) hits[n++] = code[p] as number;
      p = end;
    }
    return n;
  }

  /** A field's value for this event, read once. */
  read(id: number, event: EventData, ep: number): unknown {
    return this.fieldStamp[id] === ep ? this.fieldValue[id] : this.readFresh(id, event, ep);
  }

  private eval(code: Int32Array, pc: number, event: EventData, ep: number): boolean {
    const op = code[pc] as number;
    if (op === LEAF) return this.leaf(code[pc + 1] as number, event, ep);
    const end = code[pc + 1] as number;
    if (op === NOT) return !this.eval(code, pc + 2, event, ep);
    const want = op === ANY;
    let c = pc + 2;
    while (c < end) {
      const r = code[c] === LEAF ? this.leaf(code[c + 1] as number, event, ep) : this.eval(code, c, event, ep);
      if (r === want) return want;
      c = code[c] === LEAF ? c + 2 : (code[c + 1] as number);
    }
    return !want;
  }

  /** The id of a leaf (checked by checkCondition already), for `leaf`: an index node tests it. */
  leafId(c: ConditionShape): number {
    return this.leafOf(c);
  }

  /** A leaf's result for this event, computed once. */
  leaf(id: number, event: EventData, ep: number): boolean {
    return this.leafStamp[id] === ep ? this.leafResult[id] === 1 : this.fresh(id, event, ep);
  }

  /** Computes a leaf's result for this event and stamps it. */
  private fresh(id: number, event: EventData, ep: number): boolean {
    const r = this.test(id, event, ep);
    this.leafStamp[id] = ep;
    this.leafResult[id] = r ? 1 : 0;
    return r;
  }

  private test(id: number, event: EventData, ep: number): boolean {
    const f = this.leafField[id] as number;
    const a = this.fieldStamp[f] === ep ? this.fieldValue[f] : this.readFresh(f, event, ep);
    const b = this.leafValue[id];
    // The most frequent kinds first.
    switch (this.leafKind[id]) {
      case EQUAL:
        return a === b;
      case STRINGS:
        if (typeof a === "string") return (b as StringTest)(a);
        return Array.isArray(a) && anyString(a, b as StringTest);
      case IN_ARRAY:
        return (b as unknown[]).indexOf(a) > -1;
      case EXISTS:
        return (a !== undefined && a !== null) === b;
      case GREATER_EQUAL:
        return typeof a === "number" ? a >= (b as number) : numeric(a) && compare("greaterThanInclusive", a, b);
      case NOT_EQUAL:
        return a !== b;
      case LESS:
        return typeof a === "number" ? a < (b as number) : numeric(a) && compare("lessThan", a, b);
      case LESS_EQUAL:
        return typeof a === "number" ? a <= (b as number) : numeric(a) && compare("lessThanInclusive", a, b);
      case GREATER:
        return typeof a === "number" ? a > (b as number) : numeric(a) && compare("greaterThan", a, b);
      case NOT_IN_ARRAY:
        return (b as unknown[]).indexOf(a) === -1;
      // A Set finds NaN where indexOf does not; NaN is never found, as with indexOf.
      case IN_SET:
        return a === a && (b as ReadonlySet<unknown>).has(a);
      case NOT_IN_SET:
        return a !== a || !(b as ReadonlySet<unknown>).has(a);
      case IN_STRING:
        return inString(b as string, a, false);
      case NOT_IN_STRING:
        return inString(b as string, a, true);
      case CONTAINS:
        return Array.isArray(a) && a.indexOf(b) > -1;
      case NOT_CONTAINS:
        return Array.isArray(a) && a.indexOf(b) === -1;
      case NUMERIC:
        return numeric(a) && compare(this.leafOperand[id] as string, a, b);
      case NEVER:
        return false;
      case DYNAMIC_DEFAULT:
        return dynamicDefault(b as string, a, this.read(this.leafOther[id] as number, event, ep));
      default: {
        const other = this.read(this.leafOther[id] as number, event, ep);
        return prepareOperator(b as Parameters<typeof prepareOperator>[0], other, this.lists)(a);
      }
    }
  }

  /**
   * Reads a field and stamps it. The fact; or a path member as valueAt reads it: the fact itself when the fact's
   * value is no object, else the member of the parent, undefined when a parent below the fact is no object. The
   * fact of a member is read here too rather than by a call: most fields are members, most one deep.
   */
  private readFresh(id: number, event: EventData, ep: number): unknown {
    const stamps = this.fieldStamp;
    const values = this.fieldValue;
    let v: unknown;
    if (this.fieldKind[id] === MEMBER) {
      const rootId = this.fieldRoot[id] as number;
      let root: unknown;
      if (stamps[rootId] === ep) root = values[rootId];
      else {
        root = this.readFact(rootId, event);
        stamps[rootId] = ep;
        values[rootId] = root;
      }
      if (root === null || typeof root !== "object") v = root;
      else {
        const parentId = this.fieldParent[id] as number;
        const parent =
          parentId === rootId ? root : stamps[parentId] === ep ? values[parentId] : this.readFresh(parentId, event, ep);
        v =
          parent === null || typeof parent !== "object"
            ? undefined
            : (parent as Record<string, unknown>)[this.fieldName[id] as string];
      }
    } else v = this.readFact(id, event);
    stamps[id] = ep;
    values[id] = v;
    return v;
  }

  /** A fact (a field that is no member), read from the event. */
  private readFact(id: number, event: EventData): unknown {
    const kind = this.fieldKind[id];
    if (kind === FACT_FIELD) return (event as Record<string, unknown>)[this.fieldName[id] as string];
    if (kind === FACT_EVENT) return event;
    if (kind === FACT_OWN) {
      const name = this.fieldName[id] as string;
      return Object.hasOwn(event, name) ? (event as Record<string, unknown>)[name] : undefined;
    }
    return undefined;
  }

  /** The condition with what the node's known values decide folded, as compile.ts's `expr` folds it. */
  private fold(c: ConditionShape, known: KnownValues, knownLeaves: KnownLeaves): Folded {
    // The order json-rules-engine checks the boolean operators in; an empty list passes, for `any` as for `all`.
    if (Object.hasOwn(c, "any")) {
      const xs = byCost(c.any ?? []).map((x) => this.fold(x, known, knownLeaves));
      if (xs.length === 0 || xs.includes(true)) return true;
      const left = xs.filter((x) => x !== false);
      if (left.length === 0) return false;
      return left.length === 1 ? (left[0] as Folded) : { op: ANY, xs: left };
    }
    if (Object.hasOwn(c, "all")) {
      const xs = byCost(c.all ?? []).map((x) => this.fold(x, known, knownLeaves));
      if (xs.includes(false)) return false;
      const left = xs.filter((x) => x !== true);
      if (left.length === 0) return true;
      return left.length === 1 ? (left[0] as Folded) : { op: ALL, xs: left };
    }
    if (Object.hasOwn(c, "not")) {
      const x = this.fold(c.not as ConditionShape, known, knownLeaves);
      return x === true ? false : x === false ? true : { not: x };
    }
    const b: unknown = c.value;
    const op = c.operator ?? "";
    if (!isFactReference(b) && typeof c.fact === "string") {
      const key = fieldKeyOf(c.fact, typeof c.path === "string" ? c.path : undefined);
      if (known.has(key)) {
        const folded = foldKnown(op, known.get(key), b);
        if (folded !== undefined) return folded;
      }
    }
    if (knownLeaves.size > 0) {
      const key = leafKeyOf(c);
      const decided = key === undefined ? undefined : knownLeaves.get(key);
      if (decided !== undefined) return decided;
    }
    return this.leafOf(c);
  }

  private emit(f: Exclude<Folded, boolean>, out: Ints): void {
    if (typeof f === "number") {
      out.push(LEAF);
      out.push(f);
      return;
    }
    if ("not" in f) {
      out.push(NOT);
      const end = out.push(0);
      this.emit(f.not as Exclude<Folded, boolean>, out);
      out.data[end] = out.length;
      return;
    }
    out.push(f.op);
    const end = out.push(0);
    for (const x of f.xs) this.emit(x as Exclude<Folded, boolean>, out);
    out.data[end] = out.length;
  }

  /** The id of a leaf (checked by checkCondition already), shared when its value JSON spells exactly. */
  private leafOf(c: ConditionShape): number {
    const op = c.operator ?? "";
    const b: unknown = c.value;
    const key = leafKeyOf(c);
    const had = key === undefined ? undefined : this.leafIds.get(key);
    if (had !== undefined) return had;
    const id = this.leafKindList.length;
    if (key !== undefined) this.leafIds.set(key, id);
    const field = this.field(c.fact, c.path);
    let kind: number;
    let value: unknown = b;
    let operand: unknown;
    let other = -1;
    if (isFactReference(b)) {
      other = this.field(b.fact, b.path);
      kind = isCustom(op) ? DYNAMIC_CUSTOM : DYNAMIC_DEFAULT;
      value = op;
    } else if (op === "equal") kind = EQUAL;
    else if (op === "notEqual") kind = NOT_EQUAL;
    else if (op === "in" || op === "notIn") {
      const negate = op === "notIn";
      if (typeof b === "string") kind = negate ? NOT_IN_STRING : IN_STRING;
      else if ((b as unknown[]).length <= 16) kind = negate ? NOT_IN_ARRAY : IN_ARRAY;
      else {
        kind = negate ? NOT_IN_SET : IN_SET;
        value = new Set(b as unknown[]);
      }
    } else if (op === "contains") kind = CONTAINS;
    else if (op === "doesNotContain") kind = NOT_CONTAINS;
    else if (op in NUMBER_KIND) {
      if (typeof b === "number") kind = NUMBER_KIND[op] as number;
      else {
        kind = NUMERIC;
        operand = op;
      }
    } else if (op === "exists") {
      kind = EXISTS;
      value = b !== false;
    } else {
      value = prepareStringTest(op as Parameters<typeof prepareStringTest>[0], b, this.lists);
      kind = value === null ? NEVER : STRINGS;
    }
    this.leafKindList.push(kind);
    this.leafFieldList.push(field);
    this.leafOtherList.push(other);
    this.leafValue.push(value);
    this.leafOperand.push(operand);
    return id;
  }

  /** Copies the leaf and field lists to their typed arrays: called once every node is compiled, before `run`. */
  seal(): void {
    const grow = <A extends Int32Array | Uint8Array>(a: A, n: number, make: (n: number) => A): A => {
      if (a.length === n) return a;
      const next = make(n);
      next.set(a.subarray(0, Math.min(a.length, n)));
      return next;
    };
    const leaves = this.leafKindList.length;
    this.leafKind = Int32Array.from(this.leafKindList);
    this.leafField = Int32Array.from(this.leafFieldList);
    this.leafOther = Int32Array.from(this.leafOtherList);
    this.leafStamp = grow(this.leafStamp, leaves, (n) => new Int32Array(n));
    this.leafResult = grow(this.leafResult, leaves, (n) => new Uint8Array(n));
    this.fieldStamp = grow(this.fieldStamp, this.fieldKind.length, (n) => new Int32Array(n));
    this.fieldParent = Int32Array.from(this.fieldParentList);
    this.fieldRoot = Int32Array.from(this.fieldRootList);
  }
}
