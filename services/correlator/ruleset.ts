/**
 * A compiled rule set: json-rules-engine conditions with Riposte's operators and a path resolver that only
 * follows plain members. Pure: an event in, the matching rules out; no I/O, no clock.
 */
import { Engine, type RuleProperties, type TopLevelCondition } from "json-rules-engine";
import type { NormalizedEvent, RuleFile } from "../../schemas/index.ts";
import { valueAt } from "../shared/template.ts";
import { customOperators, type NamedLists } from "./operators.ts";

/** A loaded rule with its provenance. */
export interface LoadedRule {
  readonly rule: RuleFile;
  /** sha256 of the file's bytes, recorded on every decision. */
  readonly hash: string;
  readonly file: string;
}

export class RuleSet {
  readonly rules: readonly LoadedRule[];
  private readonly engine: Engine;
  private readonly byId: ReadonlyMap<string, LoadedRule>;

  constructor(rules: readonly LoadedRule[], lists: NamedLists) {
    this.rules = rules.filter((r) => r.rule.enabled);
    this.byId = new Map(this.rules.map((r) => [r.rule.id, r]));
    this.engine = new Engine([], {
      allowUndefinedFacts: true,
      pathResolver: (value: object, path: string) => valueAt(value, path),
    });
    for (const [name, fn] of Object.entries(customOperators(lists))) this.engine.addOperator(name, fn);
    for (const r of this.rules) {
      const props: RuleProperties = {
        name: r.rule.id,
        priority: r.rule.priority,
        conditions: r.rule.match as TopLevelCondition,
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
      .sort((a, b) => b.rule.priority - a.rule.priority || (a.rule.id < b.rule.id ? -1 : 1));
  }
}
