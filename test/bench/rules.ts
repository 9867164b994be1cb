/**
 * Row 6: the rule set on normalized events. Baseline: a plain json-rules-engine Engine (default jsonpath path
 * resolution, standard operators only) with conditions equivalent on this data; then Riposte's RuleSet.
 */
import { performance } from "node:perf_hooks";
import { Engine, type TopLevelCondition } from "json-rules-engine";
import type { NormalizedEvent } from "../../schemas/index.ts";
import { loadLists, loadRules } from "../../services/correlator/load.ts";
import { customOperators, type NamedLists } from "../../services/correlator/operators.ts";
import { RuleSet, type LoadedRule } from "../../services/correlator/ruleset.ts";
import { valueAt } from "../../services/shared/template.ts";
import { MemoryProbe, Samples, fmtMs, fmtRate, progress, ratio, type Row } from "./report.ts";

interface Leaf {
  fact?: string;
  path?: string;
  operator?: string;
  value?: unknown;
  all?: Leaf[];
  any?: Leaf[];
  not?: Leaf;
  [k: string]: unknown;
}

const STANDARD = new Set([
  "equal",
  "notEqual",
  "in",
  "notIn",
  "contains",
  "doesNotContain",
  "lessThan",
  "lessThanInclusive",
  "greaterThan",
  "greaterThanInclusive",
]);

const strings = (v: unknown): string[] =>
  (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");

/**
 * The rule's conditions with standard operators only. `exists` becomes `notIn`/`in` [null, undefined]; every other
 * custom operator (cidr, inList, regex, …) becomes `in` over the values of the data that satisfy it, which is
 * equivalent on this data set (checked event by event before timing).
 */
function standardConditions(c: Leaf, lists: NamedLists, events: readonly NormalizedEvent[], note: Set<string>): Leaf {
  if (c.all) return { ...c, all: c.all.map((x) => standardConditions(x, lists, events, note)) };
  if (c.any) return { ...c, any: c.any.map((x) => standardConditions(x, lists, events, note)) };
  if (c.not) return { ...c, not: standardConditions(c.not, lists, events, note) };
  const op = c.operator ?? "";
  if (STANDARD.has(op)) return c;
  if (op === "exists") {
    note.add(`exists → ${c.value === false ? "in" : "notIn"} [null, undefined]`);
    return { ...c, operator: c.value === false ? "in" : "notIn", value: [null, undefined] };
  }
  const custom = customOperators(lists)[op];
  if (!custom) throw new Error(`unknown operator ${op} in a rule`);
  const satisfying = new Set<string>();
  for (const e of events) {
    const fact = (e as unknown as Record<string, unknown>)[c.fact ?? ""];
    const v = c.path ? valueAt(fact, c.path) : fact;
    for (const s of strings(v)) if (custom(s, c.value)) satisfying.add(s);
  }
  note.add(
    `${op} on ${c.fact ?? ""}${c.path?.replace(/^\$/, "") ?? ""} → in [the ${satisfying.size} values of the data it accepts]`,
  );
  return { ...c, operator: "in", value: [...satisfying] };
}

function baselineEngine(
  rules: readonly LoadedRule[],
  lists: NamedLists,
  events: readonly NormalizedEvent[],
  note: Set<string>,
): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const r of rules) {
    if (!r.rule.enabled) continue;
    engine.addRule({
      name: r.rule.id,
      priority: r.rule.priority,
      conditions: standardConditions(r.rule.match as Leaf, lists, events, note) as unknown as TopLevelCondition,
      event: { type: r.rule.id },
    });
  }
  return engine;
}

type Evaluate = (e: NormalizedEvent) => Promise<string[]>;

interface Measured {
  evals: number;
  seconds: number;
  readonly latency: Samples;
  memory?: string;
}

async function round(evaluate: Evaluate, events: readonly NormalizedEvent[], n: number, m: Measured): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const e = events[i % events.length] as NormalizedEvent;
    const t = performance.now();
    await evaluate(e);
    m.latency.add(performance.now() - t);
  }
  m.seconds += (performance.now() - start) / 1000;
  m.evals += n;
}

export interface RulesOptions {
  readonly rulesDir: string;
  readonly perRound: number;
  readonly rounds: number;
  readonly baselineName: string;
  readonly name: string;
}

/** Both rows: the baseline first, RuleSet second (its notes compare with the baseline of the same run). */
export async function benchRules(
  events: readonly NormalizedEvent[],
  sources: string,
  opts: RulesOptions,
): Promise<Row[]> {
  const lists = await loadLists(opts.rulesDir);
  const loaded = await loadRules(opts.rulesDir, lists);
  const ruleSet = new RuleSet(loaded, lists);
  const note = new Set<string>();
  const engine = baselineEngine(loaded, lists, events, note);

  const baseline: Evaluate = async (e) =>
    (await engine.run(e as unknown as Record<string, unknown>)).events.map((x) => x.type);
  const riposte: Evaluate = async (e) => (await ruleSet.evaluate(e)).map((r) => r.rule.id);

  // Same answers on every event, or the comparison means nothing.
  let matches = 0;
  let disagreements = 0;
  for (const e of events) {
    const [a, b] = [(await baseline(e)).sort().join(","), (await riposte(e)).sort().join(",")];
    if (a !== b) disagreements++;
    if (b !== "") matches++;
  }
  progress(`  rules: ${events.length} events, ${matches} match, ${disagreements} disagreements between the engines`);

  const base: Measured = { evals: 0, seconds: 0, latency: new Samples() };
  const ours: Measured = { evals: 0, seconds: 0, latency: new Samples() };
  await round(baseline, events, 2000, { evals: 0, seconds: 0, latency: new Samples() });
  await round(riposte, events, 2000, { evals: 0, seconds: 0, latency: new Samples() });
  // Alternate rounds so that neither engine gets a systematically warmer or quieter machine.
  for (let r = 0; r < opts.rounds; r++) {
    let probe = new MemoryProbe();
    await round(baseline, events, opts.perRound, base);
    base.memory = probe.finish();
    probe = new MemoryProbe();
    await round(riposte, events, opts.perRound, ours);
    ours.memory = probe.finish();
    progress(
      `  rules round ${r + 1}/${opts.rounds}: json-rules-engine ${fmtRate(base.evals / base.seconds, "evals")}, ` +
        `RuleSet ${fmtRate(ours.evals / ours.seconds, "evals")}`,
    );
  }
  const baseRate = base.evals / base.seconds;
  const ourRate = ours.evals / ours.seconds;
  const common =
    `${events.length} normalized events (${sources}), ${matches} match; ` +
    `${opts.rounds}×${opts.perRound.toLocaleString("en-US")} evals alternating`;
  const agree = disagreements === 0 ? "same matches on every event" : `DISAGREE on ${disagreements} events`;
  return [
    {
      name: opts.baselineName,
      throughput: fmtRate(baseRate, "evals"),
      p50: fmtMs(base.latency.percentile(50)),
      p99: fmtMs(base.latency.percentile(99)),
      memory: base.memory ?? "-",
      rate: baseRate,
      notes: `baseline: default jsonpath (jsonpath-plus) paths, standard operators (${[...note].join(", ")}); ${common}`,
    },
    {
      name: opts.name,
      throughput: fmtRate(ourRate, "evals"),
      p50: fmtMs(ours.latency.percentile(50)),
      p99: fmtMs(ours.latency.percentile(99)),
      memory: ours.memory ?? "-",
      rate: ourRate,
      notes: `${ratio(ourRate, baseRate)} the json-rules-engine baseline; ${agree}; RuleSet.evaluate (plain-member paths, custom operators)`,
    },
  ];
}
