/**
 * The index of a rule set, so that an event meets only the rules that can match it. Built once per rule set; pure.
 *
 * Each rule's condition implies something about some fields: in `all`, an `equal` or `in` with constant values
 * on a field (class_uid, riposte.format, ...) must hold for the rule to match, and so must a numeric bound
 * (`severity_id >= 4`); in `any`, a set of values every branch implies on the same field. The index is a small
 * decision tree over those fields, each node on the field that spares the most rules: it reads the field, follows
 * the branch of its value (a value with no branch meets the bounded rules only), and also visits the rules that
 * say nothing about the field. A rule that implies nothing is checked for every event. The index only narrows the
 * candidates; every candidate's full condition is evaluated, except the leaves the branches above it decided: under
 * the branch of value v, a leaf on that field with `equal`, `notEqual`, `in`, `notIn` or a numeric bound is true or
 * false at compile time (compile.ts, foldKnown). A node may instead test one leaf that several of its rules need
 * (a pattern on a title, a severity floor: a child of their `all`, or `not` of one): the rules that need it true
 * are visited only when it is, those that need it false only when it is not, each compiled with the leaf decided;
 * leaves have no side effects and never throw, so testing one first changes no result. Every field, and every leaf
 * several rules share, is computed once per event through stamped slots that the rules and index nodes of one
 * CompiledRules share.
 */
import type { ConditionShape } from "../../schemas/index.ts";
import {
  compare,
  fieldKeyOf,
  foldKnown,
  isFactReference,
  leafKeyOf,
  type Batch,
  type KnownLeaves,
  type KnownValues,
  type TableReader,
  type TableTest,
} from "./compile.ts";
import type { Programs } from "./interpret.ts";

/**
 * What a condition implies about one field for it to match: one of a set of values (`equal`, `in`), or a number
 * on one side of a bound (`severity_id >= 4`).
 */
type Need =
  | { readonly kind: "set"; readonly values: ReadonlySet<unknown> }
  | { readonly kind: "range"; readonly op: string; readonly bound: number };
/** Field key → what the condition needs of it. */
type Needs = Map<string, Need>;
/** A leaf the condition needs true (a child of `all`) or false (`not` of one), by its key (leafKeyOf). */
interface LeafNeed {
  readonly leaf: ConditionShape;
  readonly want: boolean;
}
type LeafNeeds = Map<string, LeafNeed>;

export interface Field {
  readonly key: string;
  readonly name: string;
  readonly fact: string;
  readonly path: string | undefined;
  /** The field's id in the rule set's Programs. */
  readonly id: number;
  /** The field's generated reader through the FieldTable, made when the rules are generated code. */
  reader: TableReader | null;
}

export interface Node {
  /** Rules (by position) checked at this node, ascending. */
  readonly check: Int32Array;
  /** The same rules as one program list (interpret.ts), set once the tree is built, when interpreted. */
  code: Int32Array;
  /** The same rules as generated functions, BATCH rules each, when generated. */
  batches: Batch[];
  /** The field this node branches on, if any: its name, its id in the Programs (-1 for none), its reader. */
  readonly field: string | null;
  readonly read: number;
  reader: TableReader | null;
  /** The fields the branches above this node have found the values of: its rules are compiled knowing them. */
  readonly known: KnownValues;
  /** The leaves the nodes above have found the results of: its rules are compiled knowing them too. */
  readonly knownLeaves: KnownLeaves;
  /**
   * A leaf this node tests instead of branching on a field: its id in the Programs (-1 for none), its test when
   * generated; `branches` then has the rules needing it true under `true` and those needing it false under `false`.
   */
  readonly leaf: ConditionShape | null;
  test: number;
  tester: TableTest | null;
  /** The leaf's two branches (also in `branches`), read without a Map lookup. */
  readonly ifTrue: Node | null;
  readonly ifFalse: Node | null;
  readonly branches: Map<unknown, Node> | null;
  /** Where a value with no branch goes: the rules with a bound on the field (a string "5" is >= 4). */
  readonly fallback: Node | null;
  /** The rules that say nothing about the field. */
  readonly rest: Node | null;
}

/** Below this many rules a node is a plain list: branching costs more than it saves. */
const MIN_SPLIT = 3;
/** The values a bound is spread over: small integers, as severity_id (0-6, 99) and other OCSF enums have. */
const DOMAIN = [...Array.from({ length: 11 }, (_, i) => i), 99];
const RANGE_OPS = new Set(["lessThan", "lessThanInclusive", "greaterThan", "greaterThanInclusive"]);

const fieldName = (fact: unknown, path: unknown) =>
  `${String(fact)}${typeof path === "string" ? path.replace(/^\$/, "") : ""}`;

const primitive = (v: unknown) => v === null || (typeof v !== "object" && typeof v !== "function");

function needsOf(c: ConditionShape, fields: Map<string, Field>, programs: Programs): Needs {
  const out: Needs = new Map();
  if (Object.hasOwn(c, "any")) {
    // A field every branch needs a set of values of: the union of those sets.
    const branches = (c.any ?? []).map((x) => needsOf(x, fields, programs));
    const first = branches[0];
    if (!first) return out;
    for (const key of first.keys()) {
      const sets = branches.map((b) => b.get(key));
      if (!sets.every((n) => n?.kind === "set")) continue;
      const union = new Set<unknown>();
      for (const n of sets) for (const v of (n as { values: ReadonlySet<unknown> }).values) union.add(v);
      out.set(key, { kind: "set", values: union });
    }
    return out;
  }
  if (Object.hasOwn(c, "all")) {
    for (const x of c.all ?? []) {
      for (const [key, need] of needsOf(x, fields, programs)) {
        const had = out.get(key);
        if (!had || (had.kind === "range" && need.kind === "set")) out.set(key, need);
        else if (had.kind === "set" && need.kind === "set")
          out.set(key, { kind: "set", values: new Set([...had.values].filter((v) => need.values.has(v))) });
      }
    }
    return out;
  }
  if (Object.hasOwn(c, "not") || isFactReference(c.value)) return out;
  let need: Need | undefined;
  if (c.operator === "equal" && primitive(c.value)) need = { kind: "set", values: new Set([c.value]) };
  else if (c.operator === "in" && Array.isArray(c.value) && c.value.every(primitive))
    need = { kind: "set", values: new Set(c.value as unknown[]) };
  else if (RANGE_OPS.has(c.operator ?? "") && typeof c.value === "number" && !Number.isNaN(c.value))
    need = { kind: "range", op: c.operator as string, bound: c.value };
  // A fact that is not a name is never there: nothing to branch on.
  if (!need || typeof c.fact !== "string") return out;
  const key = fieldKeyOf(c.fact, c.path);
  if (!fields.has(key))
    fields.set(key, {
      key,
      name: fieldName(c.fact, c.path),
      fact: c.fact,
      path: c.path,
      id: programs.field(c.fact, c.path),
      reader: null,
    });
  if (need.kind === "set") {
    // NaN is never `===` to anything: it is no value to branch on.
    need = { kind: "set", values: new Set([...need.values].filter((v) => v === v)) };
  }
  out.set(key, need);
  return out;
}

/**
 * The leaves a condition needs for it to match: those every match has true (`all` children, down through nested
 * `all`), and those it has false (`not` of such a leaf). Only leaves that rules can share (leafKeyOf).
 */
function leafNeedsOf(c: ConditionShape, want: boolean, out: LeafNeeds): LeafNeeds {
  if (Object.hasOwn(c, "any")) {
    // `any` of one condition is that condition; `not` of `any` of several is `all` of their negations.
    const xs = c.any ?? [];
    if (xs.length === 1 || !want) for (const x of xs) leafNeedsOf(x, want, out);
    return out;
  }
  if (Object.hasOwn(c, "all")) {
    const xs = c.all ?? [];
    // `all` of nothing is true; `not` of `all` of one is the negation of that one.
    if (want || xs.length === 1) for (const x of xs) leafNeedsOf(x, want, out);
    return out;
  }
  if (Object.hasOwn(c, "not")) {
    if (c.not !== undefined && c.not !== null && !Array.isArray(c.not)) leafNeedsOf(c.not, !want, out);
    return out;
  }
  if (isFactReference(c.value)) return out;
  const key = leafKeyOf(c);
  if (key === undefined) return out;
  const had = out.get(key);
  // A leaf needed both true and false: the rule never matches; any branch holds it, none spares it wrongly.
  if (had === undefined) out.set(key, { leaf: c, want });
  return out;
}

/** The branch values a need puts a rule under. */
function valuesOf(need: Need): Iterable<unknown> {
  if (need.kind === "set") return need.values;
  return DOMAIN.filter((v) => compare(need.op, v, need.bound));
}

/**
 * Rules an event is spared by branching on the field, if its value is equally likely any branch's or another:
 * the rules indexed on the field minus the mean of what each of those values meets.
 */
function benefit(rules: readonly number[], needs: readonly Needs[], key: string): number {
  const sizes = new Map<unknown, number>();
  let indexed = 0;
  let bounded = 0;
  for (const r of rules) {
    const need = (needs[r] as Needs).get(key);
    if (!need) continue;
    indexed++;
    if (need.kind === "range") bounded++;
    for (const v of valuesOf(need)) sizes.set(v, (sizes.get(v) ?? 0) + 1);
  }
  if (indexed < MIN_SPLIT) return 0;
  let total = bounded;
  for (const n of sizes.values()) total += n;
  return indexed - total / (sizes.size + 1);
}

/** What the index is built from: each rule's needs of fields and of leaves, and the fields by key. */
interface Plan {
  readonly needs: readonly Needs[];
  readonly leafNeeds: readonly LeafNeeds[];
  readonly fields: Map<string, Field>;
}

/** A node that checks its rules as a plain list. */
function listNode(rules: readonly number[], known: KnownValues, knownLeaves: KnownLeaves): Node {
  return {
    check: Int32Array.from(rules),
    code: new Int32Array(0),
    batches: [],
    field: null,
    read: -1,
    reader: null,
    known,
    knownLeaves,
    leaf: null,
    test: -1,
    tester: null,
    ifTrue: null,
    ifFalse: null,
    branches: null,
    fallback: null,
    rest: null,
  };
}

/**
 * Leaves an index node may test: patterns, and numeric bounds that several rules share (`severity_id >= 4`: where
 * a node holds too few rules of each bound for a branch per value, one test spares all of them). Equalities and
 * `in` are the field branches' (a branch per value does better than a test per value); `exists`, mostly true,
 * would spare little.
 */
const LEAF_SPLIT_OPS = new Set([
  "containsi",
  "startsWith",
  "endsWith",
  "regex",
  "wildcard",
  "cidr",
  "inList",
  "contains",
  ...RANGE_OPS,
]);

/**
 * Rules an event is spared by testing the leaf at a node, if it is as likely true as false: half of those that
 * need it true (those that need it false, `not` of a pattern, are mostly visited anyway). None for a leaf the
 * values known here already decide (its rules have it folded away).
 */
function leafBenefit(n: number, leaf: ConditionShape, known: KnownValues): number {
  if (n < MIN_SPLIT || typeof leaf.fact !== "string") return 0;
  const field = fieldKeyOf(leaf.fact, typeof leaf.path === "string" ? leaf.path : undefined);
  if (known.has(field) && foldKnown(leaf.operator ?? "", known.get(field), leaf.value) !== undefined) return 0;
  return n / 2;
}

function build(
  rules: readonly number[],
  plan: Plan,
  used: Set<string>,
  known: KnownValues,
  knownLeaves: KnownLeaves,
): Node {
  if (rules.length < MIN_SPLIT) return listNode(rules, known, knownLeaves);
  const keys = new Set<string>();
  // The leaves that rules here need true, and how many need each: one pass, not one per leaf.
  const leafCounts = new Map<string, { n: number; leaf: ConditionShape }>();
  for (const r of rules) {
    for (const key of (plan.needs[r] as Needs).keys()) if (!used.has(key)) keys.add(key);
    for (const [key, need] of plan.leafNeeds[r] as LeafNeeds) {
      if (!need.want || knownLeaves.has(key) || !LEAF_SPLIT_OPS.has(need.leaf.operator ?? "")) continue;
      const had = leafCounts.get(key);
      if (had === undefined) leafCounts.set(key, { n: 1, leaf: need.leaf });
      else had.n++;
    }
  }
  let best: string | undefined;
  let bestBenefit = MIN_SPLIT / 2;
  for (const key of [...keys].sort()) {
    const b = benefit(rules, plan.needs, key);
    if (b > bestBenefit) [best, bestBenefit] = [key, b];
  }
  let bestLeaf: string | undefined;
  for (const key of [...leafCounts.keys()].sort()) {
    const { n, leaf } = leafCounts.get(key) as { n: number; leaf: ConditionShape };
    const b = leafBenefit(n, leaf, known);
    if (b > bestBenefit) [bestLeaf, bestBenefit] = [key, b];
  }
  if (bestLeaf !== undefined) return leafNode(rules, plan, used, known, knownLeaves, bestLeaf);
  if (best === undefined) return listNode(rules, known, knownLeaves);
  const field = plan.fields.get(best) as Field;
  const byValue = new Map<unknown, number[]>();
  const bounded: number[] = [];
  const rest: number[] = [];
  for (const r of rules) {
    const need = (plan.needs[r] as Needs).get(best);
    if (!need) {
      rest.push(r);
      continue;
    }
    if (need.kind === "range") bounded.push(r);
    for (const v of valuesOf(need)) {
      const list = byValue.get(v) ?? [];
      list.push(r);
      byValue.set(v, list);
    }
  }
  // Every small integer gets a branch, empty if no rule holds for it: only other values fall back to the bounds.
  if (bounded.length > 0) for (const v of DOMAIN) if (!byValue.has(v)) byValue.set(v, []);
  // A value a set brought in that a bound was not spread over ("5" as a string) may still satisfy the bound.
  const domain = new Set<unknown>(DOMAIN);
  for (const [v, list] of byValue) {
    if (domain.has(v) || bounded.length === 0) continue;
    const have = new Set(list);
    byValue.set(
      v,
      [...list, ...bounded.filter((r) => !have.has(r))].sort((a, b) => a - b),
    );
  }
  const deeper = new Set([...used, best]);
  const branches = new Map<unknown, Node>();
  // Under a branch the field's value is the branch's key (SameValueZero; never NaN, which is no key).
  for (const [v, list] of byValue) branches.set(v, build(list, plan, deeper, new Map(known).set(best, v), knownLeaves));
  return {
    ...listNode([], known, knownLeaves),
    field: field.name,
    read: field.id,
    branches,
    fallback: bounded.length > 0 ? build(bounded, plan, deeper, known, knownLeaves) : null,
    rest: rest.length > 0 ? build(rest, plan, deeper, known, knownLeaves) : null,
  };
}

/**
 * A node testing one leaf that several rules need (a pattern on a title that twenty rules have, a severity
 * floor): those that need it true are visited only when it is, those that need it false only when it is not,
 * each compiled with the leaf's result known; the others are the rest.
 */
function leafNode(
  rules: readonly number[],
  plan: Plan,
  used: Set<string>,
  known: KnownValues,
  knownLeaves: KnownLeaves,
  key: string,
): Node {
  const yes: number[] = [];
  const no: number[] = [];
  const rest: number[] = [];
  let leaf: ConditionShape | undefined;
  for (const r of rules) {
    const need = (plan.leafNeeds[r] as LeafNeeds).get(key);
    if (need === undefined) rest.push(r);
    else {
      leaf = need.leaf;
      (need.want ? yes : no).push(r);
    }
  }
  const branches = new Map<unknown, Node>();
  for (const [want, list] of [
    [true, yes],
    [false, no],
  ] as const) {
    if (list.length > 0) branches.set(want, build(list, plan, used, known, new Map(knownLeaves).set(key, want)));
  }
  return {
    ...listNode([], known, knownLeaves),
    leaf: leaf as ConditionShape,
    ifTrue: branches.get(true) ?? null,
    ifFalse: branches.get(false) ?? null,
    branches,
    rest: rest.length > 0 ? build(rest, plan, used, known, knownLeaves) : null,
  };
}

/**
 * The index of the conditions (by position): fields are registered in the Programs as the needs are found (their
 * ids are the interpreter's and the generated readers'); nodes get their code from the caller.
 */
export function buildIndex(
  matches: readonly ConditionShape[],
  programs: Programs,
): { root: Node; fields: Map<string, Field> } {
  const fields = new Map<string, Field>();
  const plan: Plan = {
    needs: matches.map((m) => needsOf(m, fields, programs)),
    leafNeeds: matches.map((m) => leafNeedsOf(m, true, new Map())),
    fields,
  };
  const root = build(
    matches.map((_, i) => i),
    plan,
    new Set(),
    new Map(),
    new Map(),
  );
  return { root, fields };
}

/** How the index spread the rules: for the bench's notes and for tests. */
export interface IndexStats {
  readonly rules: number;
  /** Rules checked for every event whatever its fields. */
  readonly unindexed: number;
  /** Fields the index branches on, most used first. */
  readonly fields: readonly string[];
  /** Leaves index nodes test ("finding_info.title containsi"), most used first. */
  readonly leaves: readonly string[];
}

export function statsOf(root: Node, rules: number): IndexStats {
  let unindexed = 0;
  const fields = new Map<string, number>();
  const leaves = new Map<string, number>();
  const walk = (n: Node, branched: boolean) => {
    if (!branched) unindexed += n.check.length;
    if (n.field !== null) fields.set(n.field, (fields.get(n.field) ?? 0) + 1);
    if (n.leaf !== null) {
      const name = `${fieldName(n.leaf.fact, n.leaf.path)} ${String(n.leaf.operator)}`;
      leaves.set(name, (leaves.get(name) ?? 0) + 1);
    }
    for (const child of n.branches?.values() ?? []) walk(child, true);
    if (n.fallback) walk(n.fallback, true);
    if (n.rest) walk(n.rest, branched);
  };
  walk(root, false);
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([f]) => f);
  return { rules, unindexed, fields: sorted(fields), leaves: sorted(leaves) };
}
