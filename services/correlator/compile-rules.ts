/**
 * A set of compiled rules behind an index, so that an event meets only the rules that can match it.
 *
 * The index (rule-index.ts) is a small decision tree over the fields and leaves the rules need.
 *
 * The candidates run one of two ways, picked by the size of the set (GENERATED_MAX): a few hundred generated
 * functions, BATCH rules each (compile.ts, compileBatch, with a FieldTable), or, for larger sets, rule programs
 * interpreted over typed arrays (interpret.ts). Both have the same semantics; the tests run both.
 */
import type { ConditionShape } from "../../schemas/index.ts";
import {
  checkCondition,
  compileBatch,
  FieldTable,
  tableReaderOf,
  tableTestOf,
  type Batch,
  type EventData,
} from "./compile.ts";
import { Programs } from "./interpret.ts";
import type { NamedLists } from "./operators.ts";
import { buildIndex, statsOf, type IndexStats, type Node } from "./rule-index.ts";

export type { IndexStats } from "./rule-index.ts";

/** One rule to compile, and what to return when it matches. */
export interface RuleInput<T> {
  readonly match: ConditionShape;
  readonly value: T;
}

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
  /** One bit per rule, set for those that matched while `match` puts them in order; all clear between calls. */
  private readonly marks: Int32Array;
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
    const programs = new Programs(lists);
    this.programs = programs;
    const { root, fields } = buildIndex(
      rules.map((r) => r.match),
      programs,
    );
    this.root = root;
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
    this.marks = new Int32Array(Math.ceil(rules.length / 32));
    this.stats = statsOf(this.root, rules.length);
  }

  /** The rules matching the event, in input order. See the class comment for the lifetime of the result. */
  match(event: EventData): readonly T[] {
    this.count = 0;
    if (this.engine === "interpreted") this.visit(this.root, event, this.nextEpoch());
    else this.visitGenerated(this.root, event, this.nextEpoch());
    const n = this.count;
    if (n === 0) return EMPTY;
    // One result array per match count, made once: resizing a single array would reallocate as counts vary.
    let out = this.outs[n];
    if (out === undefined) {
      out = new Array<T>(n);
      this.outs[n] = out;
    }
    // Branches visit rules out of order: the positions are marked in a bitset, then read back in order (cheaper
    // than sorting them; a rule is in one branch of a node only, so no position comes twice).
    const hits = this.hits;
    const marks = this.marks;
    for (let i = 0; i < n; i++) {
      const h = hits[i] as number;
      marks[h >>> 5] = (marks[h >>> 5] as number) | (1 << (h & 31));
    }
    const values = this.values;
    let k = 0;
    for (let w = 0; k < n && w < marks.length; w++) {
      let bits = marks[w] as number;
      if (bits === 0) continue;
      marks[w] = 0;
      while (bits !== 0) {
        out[k++] = values[(w << 5) | (31 - Math.clz32(bits & -bits))] as T;
        bits &= bits - 1;
      }
    }
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
