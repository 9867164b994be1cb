/**
 * The rule set: an event in, the matching rules out; pure, no I/O, no clock. RuleSet runs the compiled engine
 * (compile.ts, compile-rules.ts); ReferenceRuleSet runs json-rules-engine itself with the same operators and path
 * resolver, as the reference the compiled engine is tested against and the baseline of the bench.
 */
import { Engine, type RuleProperties, type TopLevelCondition } from "json-rules-engine";
import type { ConditionShape, NormalizedEvent, RuleFile } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { valueAt } from "../shared/template.ts";
import { CompiledRules, type IndexStats, type RuleEngine } from "./compile-rules.ts";
import { customOperators, type NamedLists } from "./operators.ts";

/** A loaded rule with its provenance. */
export interface LoadedRule {
  readonly rule: RuleFile;
  /** sha256 of the file's bytes, recorded on every decision. */
  readonly hash: string;
  readonly file: string;
}

/** Highest priority first, then by id: the order matches are reported in. */
const byPriority = (a: LoadedRule, b: LoadedRule) =>
  b.rule.priority - a.rule.priority || (a.rule.id < b.rule.id ? -1 : 1);

const NONE: readonly LoadedRule[] = Object.freeze([]);

function enabledRules(rules: readonly LoadedRule[]): LoadedRule[] {
  const enabled = rules.filter((r) => r.rule.enabled);
  const seen = new Set<string>();
  for (const r of enabled) {
    if (seen.has(r.rule.id)) throw new RiposteError("RIPOSTE_RULE_INVALID", `rule id "${r.rule.id}" is used twice`);
    seen.add(r.rule.id);
  }
  return enabled;
}

export class RuleSet {
  readonly rules: readonly LoadedRule[];
  private readonly compiled: CompiledRules<LoadedRule>;

  /**
   * Compiles the enabled rules; throws RIPOSTE_RULE_INVALID for a condition that cannot be evaluated. `engine`
   * (tests) forces generated code or the interpreter; by default the size of the set picks (compile-rules.ts).
   */
  constructor(rules: readonly LoadedRule[], lists: NamedLists, opts: { engine?: RuleEngine } = {}) {
    this.rules = enabledRules(rules);
    const ordered = [...this.rules].sort(byPriority);
    this.compiled = new CompiledRules(
      ordered.map((r) => ({ match: r.rule.match, value: r })),
      lists,
      opts,
    );
  }

  /** How the candidates run: generated code, or interpreted programs. */
  get engine(): "generated" | "interpreted" {
    return this.compiled.engine;
  }

  /** How the index spread the rules. */
  get stats(): IndexStats {
    return this.compiled.stats;
  }

  /**
   * Rules whose conditions match the event, highest priority first, then by id. Synchronous and allocation-free:
   * the array is shared, frozen when empty, and overwritten by the next call; copy it to keep it past that.
   */
  match(event: NormalizedEvent): readonly LoadedRule[] {
    return this.compiled.match(event);
  }

  /** `match`, as an array of the caller's own (the frozen empty array when nothing matches). */
  async evaluate(event: NormalizedEvent): Promise<readonly LoadedRule[]> {
    const matched = this.compiled.match(event);
    return matched.length === 0 ? NONE : matched.slice();
  }

  /** How many rules the index lets `match` evaluate for this event. */
  candidates(event: NormalizedEvent): number {
    return this.compiled.candidates(event);
  }
}

/**
 * json-rules-engine 7.3.1 configured as Riposte configured it before the compiled engine: undefined facts
 * allowed, `valueAt` paths, Riposte's custom operators, the event's fields and `event` as facts. The library
 * wants `all`, `any` or `not` at the root; a bare leaf there is wrapped in `all`, which means the same.
 */
export class ReferenceRuleSet {
  readonly rules: readonly LoadedRule[];
  private readonly engine: Engine;
  private readonly byId: ReadonlyMap<string, LoadedRule>;

  constructor(rules: readonly LoadedRule[], lists: NamedLists) {
    this.rules = enabledRules(rules);
    this.byId = new Map(this.rules.map((r) => [r.rule.id, r]));
    this.engine = new Engine([], {
      allowUndefinedFacts: true,
      pathResolver: (value: object, path: string) => valueAt(value, path),
    });
    for (const [name, fn] of Object.entries(customOperators(lists))) this.engine.addOperator(name, fn);
    for (const r of this.rules) {
      const m: ConditionShape = r.rule.match;
      const root = Object.hasOwn(m, "all") || Object.hasOwn(m, "any") || Object.hasOwn(m, "not") ? m : { all: [m] };
      const props: RuleProperties = {
        name: r.rule.id,
        priority: r.rule.priority,
        conditions: root as TopLevelCondition,
        event: { type: r.rule.id },
      };
      this.engine.addRule(props);
    }
  }

  /** Rules whose conditions match the event, highest priority first, then by id. */
  async evaluate(event: NormalizedEvent): Promise<LoadedRule[]> {
    if (this.rules.length === 0) return [];
    const facts: Record<string, unknown> = { ...event, event };
    const { events } = await this.engine.run(facts);
    return events
      .map((e) => this.byId.get(e.type))
      .filter((r): r is LoadedRule => r !== undefined)
      .sort(byPriority);
  }
}
