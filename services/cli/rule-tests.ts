/**
 * Rule tests as code: runs the tests of `<rules dir>/tests/*.yaml` against the rules of the directory, as the
 * services would decide them. Each test gets fresh in-memory state and a correlator whose clock (and the state's) is
 * the event time, so correlation windows, dedup and expiry are exercised in event time; raw events go through the
 * normalizer registry as ingest sends them, the directory's source mappings included. A test passes when its respond
 * decisions are exactly those it expects, in any order. Every problem names file:line:column.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { RuleTestFile, type Decision, type NormalizedEvent, type RuleTest } from "../../schemas/index.ts";
import {
  Correlator,
  DEFAULT_LATENESS_MS,
  DEFAULT_RISK_HALF_LIFE_MS,
  RuleSet,
  loadLists,
  loadRules,
} from "../correlator/index.ts";
import type { IndicatorList, LoadedRule } from "../correlator/index.ts";
import { normalizePiece, splitBody, type Piece } from "../ingest/body.ts";
import { loadSourceMappings } from "../ingest/sources.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import { parseWithPositions, type FileProblem, type PositionedDoc } from "../shared/yaml-positions.ts";
import { specific } from "./rules.ts";

/** RIPOSTE_DEDUP_WINDOW's default: how long a re-sent alert counts as a duplicate. */
const DEDUP_WINDOW_MS = 86_400_000;
/** The received time of an event whose test gives no time before it (only an event without a time of its own uses it). */
const NO_TIME = Date.parse("2026-01-01T00:00:00Z");
/** Source name of raw events that name none. */
const DEFAULT_SOURCE = "rules-test";

type Outcome = Decision["outcome"];

/** One test's result. */
export interface RuleTestResult {
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  /** Rules whose respond decisions the test expects. */
  readonly expected: readonly string[];
  /** Rules that matched at least one of the test's events. */
  readonly matched: readonly string[];
}

export interface RuleTestReport {
  readonly files: number;
  readonly results: readonly RuleTestResult[];
  /** Failed tests and broken test files, each at its position. */
  readonly problems: readonly FileProblem[];
  /** Enabled rules of the directory lacking a passing positive or negative test. */
  readonly uncovered: { readonly positive: readonly string[]; readonly negative: readonly string[] };
}

/** The test files of a rules directory, sorted; none when it has no tests/ folder. */
export async function ruleTestFiles(rulesDir: string): Promise<string[]> {
  try {
    return (await readdir(join(rulesDir, "tests")))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => join(rulesDir, "tests", f));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

const shown = (path: string) => {
  const r = relative(process.cwd(), path);
  return r && !r.startsWith("..") ? r : path;
};

interface Actual {
  readonly rule: string;
  readonly playbook: string | undefined;
  readonly target: Decision["target"];
  readonly params: Decision["params"];
  /** Index of the event that caused it. */
  readonly event: number;
}

/** A decision as a failure names it; of its params, only those in `keys` (the ones the test expects something of). */
const describeDecision = (
  d: {
    rule: string;
    playbook?: string | undefined;
    target?: Decision["target"];
    params?: Record<string, unknown> | undefined;
  },
  keys: ReadonlySet<string>,
) => {
  const shown = Object.entries(d.params ?? {}).filter(([k]) => keys.has(k));
  return [
    d.rule,
    d.playbook ? `playbook ${d.playbook}` : "",
    d.target ? `target ${d.target.type} ${d.target.value}` : "",
    shown.length ? `params ${JSON.stringify(Object.fromEntries(shown))}` : "",
  ]
    .filter(Boolean)
    .join(", ");
};

/** Matches expected decisions to actual ones (each used once): what is missing and what is unexpected. */
export function diffDecisions(
  expected: RuleTest["expect"],
  actual: readonly Actual[],
): { missing: RuleTest["expect"]; unexpected: Actual[] } {
  const unused = [...actual];
  const missing: Array<RuleTest["expect"][number]> = [];
  for (const e of expected) {
    const i = unused.findIndex(
      (a) =>
        a.rule === e.rule &&
        (e.playbook === undefined || a.playbook === e.playbook) &&
        (e.target === undefined || isDeepStrictEqual(a.target, e.target)) &&
        Object.entries(e.params ?? {}).every(([k, v]) => isDeepStrictEqual(a.params?.[k], v)),
    );
    if (i < 0) missing.push(e);
    else unused.splice(i, 1);
  }
  return { missing, unexpected: unused };
}

/** What every test of a run shares: the rule set, the ids of its enabled rules, the rules themselves, the lists. */
interface Suite {
  readonly rules: RuleSet;
  readonly ids: ReadonlySet<string>;
  readonly enabled: readonly LoadedRule[];
  /** The directory's named lists, which the rules were compiled against (a test's `lists:` fills them). */
  readonly lists: ReadonlyMap<string, IndicatorList>;
}

/** The normalized event of one test event, or why there is none. */
function normalizeOne(
  ev: RuleTest["events"][number],
  receivedTime: number,
): { ok: true; event: NormalizedEvent } | { ok: false; reason: string } {
  if (ev.normalized !== undefined) return { ok: true, event: ev.normalized };
  const raw = ev.raw as Record<string, unknown> | string;
  let piece: Piece;
  if (typeof raw === "string") {
    const pieces = splitBody(raw);
    if (pieces.length !== 1) return { ok: false, reason: `raw: holds ${pieces.length} events; give each its own item` };
    piece = pieces[0] as Piece;
  } else piece = { ok: true, event: { kind: "json", value: raw }, text: JSON.stringify(raw) };
  const out = normalizePiece(piece, { source: ev.source ?? DEFAULT_SOURCE, format: ev.format, receivedTime });
  return out.ok ? { ok: true, event: out.event } : { ok: false, reason: `${out.code}: ${out.reason}` };
}

/** Runs one test; its problems are appended. */
async function runTest(
  suite: Suite,
  file: string,
  doc: PositionedDoc,
  index: number,
  test: RuleTest,
  problems: FileProblem[],
): Promise<RuleTestResult> {
  const here = (...path: PropertyKey[]) => ({ file, ...doc.at(["tests", index, ...path]) });
  const label = `test "${test.name}"`;
  const result = (passed: boolean, matched: Set<string>): RuleTestResult => ({
    file,
    name: test.name,
    passed,
    expected: test.expect.map((e) => e.rule),
    matched: [...matched],
  });
  const matched = new Set<string>();
  let failed = false;
  test.expect.forEach((e, i) => {
    const rule = suite.enabled.find((r) => r.rule.id === e.rule);
    const problem = !rule
      ? `expects rule "${e.rule}", which is not an enabled rule of the directory`
      : !rule.rule.generate
        ? `expects a decision of "${e.rule}", an input rule (generate: false) that makes none of its own`
        : undefined;
    if (problem) {
      problems.push({ ...here("expect", i, "rule"), message: `${label}: ${problem}` });
      failed = true;
    }
  });
  for (const name of Object.keys(test.lists ?? {})) {
    if (!suite.lists.has(name)) {
      problems.push({
        ...here("lists", name),
        message: `${label}: lists: "${name}" is not a list of the directory (add rules/lists/${name}.txt)`,
      });
      failed = true;
    }
  }
  if (failed) return result(false, matched);
  // The imported part of each list, for this test only; emptied again whatever happens.
  const imported = Object.entries(test.lists ?? {}).map(([name, values]) => {
    const list = suite.lists.get(name) as IndicatorList;
    list.setImported(values);
    return list;
  });

  // Set at each event before anything reads it.
  let clock = 0;
  const state = new MemoryState({ now: () => clock });
  const correlator = new Correlator({
    bus: new MemoryBus(),
    state,
    topics: topicNames("rules-test"),
    rules: suite.rules,
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "rules-test",
    dedupWindowMs: DEDUP_WINDOW_MS,
    latenessMs: DEFAULT_LATENESS_MS,
    riskHalfLifeMs: DEFAULT_RISK_HALF_LIFE_MS,
    now: () => clock,
  });
  const actual: Actual[] = [];
  const outcomes: Record<Outcome, number> = { respond: 0, duplicate: 0, suppressed: 0, no_match: 0 };
  let base = test.start;
  let last: number | undefined;
  try {
    for (const [i, ev] of test.events.entries()) {
      const planned = ev.time ?? (ev.at !== undefined && base !== undefined ? base + ev.at : undefined);
      const out = normalizeOne(ev, planned ?? last ?? base ?? NO_TIME);
      if (!out.ok) {
        problems.push({ ...here("events", i), message: `${label}: event ${i + 1} was not normalized: ${out.reason}` });
        return result(false, matched);
      }
      base ??= out.event.time;
      const time = planned ?? (ev.at !== undefined ? base + ev.at : out.event.time);
      const event = time === out.event.time ? out.event : { ...out.event, time };
      // The clock never goes back: an event earlier than the one before is a late event, as in production.
      clock = i === 0 ? time : Math.max(clock, time);
      for (const r of await suite.rules.evaluate(event)) matched.add(r.rule.id);
      for (const d of await correlator.decide(event, `${file}#${index}/${i}`)) {
        outcomes[d.outcome]++;
        if (d.outcome === "respond")
          actual.push({ rule: d.rule?.id ?? "", playbook: d.playbook, target: d.target, params: d.params, event: i });
      }
      last = time;
    }
  } finally {
    for (const list of imported) list.setImported([]);
    await state.close();
  }

  const lines: string[] = [];
  const { missing, unexpected } = diffDecisions(test.expect, actual);
  const keys = new Set(missing.flatMap((m) => Object.keys(m.params ?? {})));
  for (const m of missing) lines.push(`  missing:    ${describeDecision(m, keys)}`);
  for (const u of unexpected)
    lines.push(
      `  unexpected: ${describeDecision(u, keys)} (decided on event ${u.event + 1}, line ${here("events", u.event).line})`,
    );
  for (const [o, want] of Object.entries(test.expect_outcomes ?? {}))
    if (want !== undefined && outcomes[o as Outcome] !== want)
      lines.push(`  outcome ${o}: ${outcomes[o as Outcome]} decision records, expected ${want}`);
  if (lines.length > 0) {
    const got = actual.length === 0 ? "none" : actual.map((a) => describeDecision(a, keys)).join("; ");
    problems.push({ ...here(), message: `${label} failed (decisions made: ${got}):\n${lines.join("\n")}` });
  }
  return result(lines.length === 0, matched);
}

/** Parses and checks one test file; its problems are appended. */
async function readTestFile(
  path: string,
  problems: FileProblem[],
): Promise<{ file: string; doc: PositionedDoc; data: RuleTestFile } | undefined> {
  const file = shown(path);
  const parsed = parseWithPositions(file, await readFile(path, "utf8"));
  if (!parsed.ok) {
    problems.push(...parsed.problems);
    return undefined;
  }
  const out = RuleTestFile.safeParse(parsed.doc.value);
  if (!out.success) {
    for (const i of specific(out.error.issues))
      problems.push({
        file,
        ...parsed.doc.at(i.path),
        message: `${i.path.map(String).join(".") || "(root)"}: ${i.message}`,
      });
    return undefined;
  }
  const names = new Map<string, number>();
  out.data.tests.forEach((t, i) => {
    const first = names.get(t.name);
    if (first !== undefined)
      problems.push({
        file,
        ...parsed.doc.at(["tests", i, "name"]),
        message: `test name "${t.name}" is also used by test ${first + 1}`,
      });
    else names.set(t.name, i);
  });
  return { file, doc: parsed.doc, data: out.data };
}

/**
 * Which enabled rules lack a passing positive test (one expecting its decision, or for an input rule one that it
 * matched and that expects a decision of a correlation using it) or a passing negative test (in a file that lists
 * the rule under `rules:`, expecting no decision of it or of the correlations using it).
 */
function coverage(
  enabled: readonly LoadedRule[],
  tests: ReadonlyArray<{ result: RuleTestResult; about: ReadonlySet<string> }>,
) {
  const users = new Map<string, string[]>();
  for (const r of enabled)
    for (const step of r.rule.correlation?.rules ?? [])
      users.set(step.rule, [...(users.get(step.rule) ?? []), r.rule.id]);
  const positive: string[] = [];
  const negative: string[] = [];
  for (const r of enabled) {
    const id = r.rule.id;
    const deciders = new Set([...(r.rule.generate ? [id] : []), ...(users.get(id) ?? [])]);
    const passing = tests.filter((t) => t.result.passed);
    const pos = passing.some(
      (t) => t.result.expected.some((e) => deciders.has(e)) && (r.rule.generate || t.result.matched.includes(id)),
    );
    const neg = passing.some((t) => t.about.has(id) && !t.result.expected.some((e) => deciders.has(e)));
    if (!pos) positive.push(id);
    if (!neg) negative.push(id);
  }
  return { positive, negative };
}

/**
 * Runs every test file of `<rulesDir>/tests/` against the rules of `rulesDir`. Throws RIPOSTE_RULE_INVALID when the
 * rules, lists or source mappings themselves do not load (as the services would refuse them).
 */
export async function runRuleTests(rulesDir: string): Promise<RuleTestReport> {
  await loadSourceMappings(rulesDir);
  const lists = await loadLists(rulesDir);
  const loaded = await loadRules(rulesDir, lists);
  const rules = new RuleSet(loaded, lists);
  const suite: Suite = { rules, ids: new Set(rules.rules.map((r) => r.rule.id)), enabled: rules.rules, lists };
  const problems: FileProblem[] = [];
  const tests: Array<{ result: RuleTestResult; about: ReadonlySet<string> }> = [];
  const paths = await ruleTestFiles(rulesDir);
  for (const path of paths) {
    const t = await readTestFile(path, problems);
    if (!t) continue;
    const about = new Set(t.data.rules ?? []);
    (t.data.rules ?? []).forEach((id, i) => {
      if (!suite.ids.has(id))
        problems.push({
          file: t.file,
          ...t.doc.at(["rules", i]),
          message: `rules: "${id}" is not an enabled rule of the directory`,
        });
    });
    for (const [i, test] of t.data.tests.entries())
      tests.push({ result: await runTest(suite, t.file, t.doc, i, test, problems), about });
  }
  return {
    files: paths.length,
    results: tests.map((t) => t.result),
    problems,
    uncovered: coverage(suite.enabled, tests),
  };
}
