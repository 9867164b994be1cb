/**
 * A set of compiled rules behind an index, so that an event meets only the rules that can match it.
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
 *
 * The candidates run one of two ways, picked by the size of the set (GENERATED_MAX): a few hundred generated
 * functions, BATCH rules each (compile.ts, compileBatch, with a FieldTable), or, for larger sets, rule programs
 * interpreted over typed arrays (interpret.ts). Both have the same semantics; the tests run both.
 */
import type { ConditionShape } from "../../schemas/index.ts";
import {
  compare,
  checkCondition,
  compileBatch,
  fieldKeyOf,
  FieldTable,
  foldKnown,
  isFactReference,
  leafKeyOf,
  tableReaderOf,
  tableTestOf,
  type Batch,
  type EventData,
  type KnownLeaves,
  type KnownValues,
  type TableReader,
  type TableTest,
} from "./compile.ts";
import { Programs } from "./interpret.ts";
import type { NamedLists } from "./operators.ts";

/** One rule to compile, and what to return when it matches. */
export interface RuleInput<T> {
  readonly match: ConditionShape;
  readonly value: T;
}

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

interface Field {
  readonly key: string;
  readonly name: string;
  readonly fact: string;
  readonly path: string | undefined;
  /** The field's id in the rule set's Programs. */
  readonly id: number;
  /** The field's generated reader through the FieldTable, made when the rules are generated code. */
  reader: TableReader | null;
}

interface Node {
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
const EMPTY: readonly never[] = Object.freeze([]);
/** Rules compiled into one generated function at an index node: few enough that each function stays small. */
const BATCH = 16;
/**
 * Up to this many generated functions a rule set is generated code; beyond, its programs are interpreted. A few
 * hundred functions each see enough events to be optimized soon and the call to them stays cheap (300 rules are
 * ~160 functions: 1 M evals/s); thousands each see few events, run unoptimized for long, and are reached through
 * a megamorphic call (3,000 rules are ~2,700: one interpreter loop over typed arrays runs them faster).
 */
const GENERATED_MAX = 400;

/** How a CompiledRules runs its candidates: "auto" picks by the number of functions generated code would take. */
export type RuleEngine = "auto" | "generated" | "interpreted";
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

/**
 * Compiled rules. `match` is synchronous and allocates nothing: it returns a shared frozen empty array when no
 * rule matches, otherwise an array owned by this object (one per match count) that a later `match` call
 * overwrites (copy it to keep it). Matches come in the order of the input rules.
 */
export class CompiledRules<T> {
  readonly size: number;
  readonly stats: IndexStats;
  private readonly values: readonly T[];
  private readonly root: Node;
  private readonly hits: Int32Array;
  private readonly outs: (T[] | undefined)[] = [];
  private readonly programs: Programs;
  private readonly table = new FieldTable();
  /** How the candidates run: generated batch functions, or the interpreted programs. */
  readonly engine: "generated" | "interpreted";
  /** The evaluation's number: the field and leaf slots stamped with it are this event's. */
  private epoch = 0;
  private count = 0;

  /** Compiles every rule; throws RIPOSTE_RULE_INVALID (from compileCondition) for one that cannot be compiled. */
  constructor(rules: readonly RuleInput<T>[], lists: NamedLists, opts: { engine?: RuleEngine } = {}) {
    this.size = rules.length;
    for (const r of rules) checkCondition(r.match, lists);
    this.values = rules.map((r) => r.value);
    const fields = new Map<string, Field>();
    const programs = new Programs(lists);
    this.programs = programs;
    const plan: Plan = {
      needs: rules.map((r) => needsOf(r.match, fields, programs)),
      leafNeeds: rules.map((r) => leafNeedsOf(r.match, true, new Map())),
      fields,
    };
    this.root = build(
      rules.map((_, i) => i),
      plan,
      new Set(),
      new Map(),
      new Map(),
    );
    let functions = 0;
    const count = (n: Node) => {
      functions += Math.ceil(n.check.length / BATCH);
      for (const child of n.branches?.values() ?? []) count(child);
      if (n.fallback) count(n.fallback);
      if (n.rest) count(n.rest);
    };
    count(this.root);
    const wanted = opts.engine ?? "auto";
    this.engine = wanted === "auto" ? (functions <= GENERATED_MAX ? "generated" : "interpreted") : wanted;
    const table = this.table;
    const byId = new Map([...fields.values()].map((f) => [f.id, f]));
    const compile = (n: Node) => {
      const part = [...n.check].map((p) => ({ match: (rules[p] as RuleInput<T>).match, position: p }));
      // The leaf a node tests has its id either way (`candidates` counts through the Programs).
      if (n.leaf !== null) n.test = programs.leafId(n.leaf);
      if (this.engine === "interpreted") n.code = programs.compile(part, n.known, n.knownLeaves);
      else {
        for (let i = 0; i < part.length; i += BATCH)
          n.batches.push(
            compileBatch(part.slice(i, i + BATCH), lists, { table, known: n.known, knownLeaves: n.knownLeaves }),
          );
        const field = byId.get(n.read);
        if (field !== undefined) n.reader = field.reader ??= tableReaderOf(table, field.fact, field.path);
        if (n.leaf !== null) n.tester = tableTestOf(table, n.leaf, lists);
      }
      for (const child of n.branches?.values() ?? []) compile(child);
      if (n.fallback) compile(n.fallback);
      if (n.rest) compile(n.rest);
    };
    compile(this.root);
    programs.seal();
    this.hits = new Int32Array(rules.length);
    this.stats = statsOf(this.root, rules.length);
  }

  /** The rules matching the event, in input order. See the class comment for the lifetime of the result. */
  match(event: EventData): readonly T[] {
    this.count = 0;
    if (this.engine === "interpreted") this.visit(this.root, event, this.nextEpoch());
    else this.visitGenerated(this.root, event, this.nextEpoch());
    const n = this.count;
    if (n === 0) return EMPTY;
    const hits = this.hits;
    // Branches visit rules out of order; matches are few, so an insertion sort in place.
    for (let i = 1; i < n; i++) {
      const h = hits[i] as number;
      let j = i - 1;
      while (j >= 0 && (hits[j] as number) > h) {
        hits[j + 1] = hits[j] as number;
        j--;
      }
      hits[j + 1] = h;
    }
    // One result array per match count, made once: resizing a single array would reallocate as counts vary.
    let out = this.outs[n];
    if (out === undefined) {
      out = new Array<T>(n);
      this.outs[n] = out;
    }
    for (let i = 0; i < n; i++) out[i] = this.values[hits[i] as number] as T;
    return out;
  }

  /** How many rules `match` evaluates for this event (the index's candidates). */
  candidates(event: EventData): number {
    const ep = this.nextEpoch();
    const walk = (node: Node): number => {
      let n = node.check.length;
      if (node.read !== -1) {
        const next = node.branches?.get(this.programs.read(node.read, event, ep)) ?? node.fallback;
        if (next) n += walk(next);
      }
      if (node.test !== -1) {
        const next = node.branches?.get(this.programs.leaf(node.test, event, ep));
        if (next) n += walk(next);
      }
      if (node.rest !== null) n += walk(node.rest);
      return n;
    };
    return walk(this.root);
  }

  /** A new evaluation number; when they run out, the table is cleared and they start again. */
  private nextEpoch(): number {
    let ep = this.epoch + 1;
    if (ep > 0x3fffffff) {
      this.programs.reset();
      this.table.reset();
      ep = 1;
    }
    this.epoch = ep;
    return ep;
  }

  private visit(node: Node, event: EventData, ep: number): void {
    if (node.code.length > 0) this.count = this.programs.run(node.code, event, ep, this.hits, this.count);
    if (node.read !== -1) {
      const next = (node.branches as Map<unknown, Node>).get(this.programs.read(node.read, event, ep));
      if (next !== undefined) this.visit(next, event, ep);
      else if (node.fallback !== null) this.visit(node.fallback, event, ep);
    } else if (node.test !== -1) {
      const next = this.programs.leaf(node.test, event, ep) ? node.ifTrue : node.ifFalse;
      if (next !== null) this.visit(next, event, ep);
    }
    if (node.rest !== null) this.visit(node.rest, event, ep);
  }

  private visitGenerated(node: Node, event: EventData, ep: number): void {
    const batches = node.batches;
    for (let i = 0; i < batches.length; i++) this.count = (batches[i] as Batch)(event, this.hits, this.count, ep);
    if (node.reader !== null) {
      const next = (node.branches as Map<unknown, Node>).get(node.reader(event, ep));
      if (next !== undefined) this.visitGenerated(next, event, ep);
      else if (node.fallback !== null) this.visitGenerated(node.fallback, event, ep);
    } else if (node.tester !== null) {
      const next = node.tester(event, ep) ? node.ifTrue : node.ifFalse;
      if (next !== null) this.visitGenerated(next, event, ep);
    }
    if (node.rest !== null) this.visitGenerated(node.rest, event, ep);
  }
}

function statsOf(root: Node, rules: number): IndexStats {
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
