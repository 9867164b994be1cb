/**
 * `riposte replay --rules DIR [--against DIR2] [--plan] [--respond-only] FILE...`: backtests a rule set over recorded
 * alerts. Each input event (raw in any format ingest detects, or already normalized, validated as is) is normalized
 * with the rules directory's source mappings, the events are sorted by event time (ties in input order), and a fresh
 * Correlator on in-memory state decides them with its clock at each event's time, so windows, dedup and risk behave
 * as they did live and the same input always gives the same decision ids. Every decision record is printed as one
 * JSON line, as on the decisions topic; a summary goes to stderr. With `--against DIR2` both rule sets run over the
 * same input and the difference is printed instead (DIR2 is the baseline, DIR the change). No vendor is called.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import { NormalizedEvent, targetKey, type Decision } from "../../schemas/index.ts";
import { Correlator, RuleSet, loadLists, loadRules } from "../correlator/index.ts";
import { CONNECTORS, Guards, loadGuardSettings } from "../executor/index.ts";
import { normalizePiece, splitBody, type Piece } from "../ingest/body.ts";
import { loadSourceMappings } from "../ingest/sources.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { loadConfig, topicNames, type Config } from "../shared/config.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import { canonicalJson } from "../shared/ids.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { loadPlaybooks } from "../shared/rulefiles.ts";
import { MemoryState } from "../shared/state/index.ts";
import { isoTime, readTopic } from "./replay-kafka.ts";
import { planDecision, type PlannedStep } from "./replay-plan.ts";

export interface ReplayOptions {
  readonly rulesDir: string;
  /** The baseline rules directory: print the difference from it instead of the decisions. */
  readonly against?: string | undefined;
  readonly format?: string | undefined;
  readonly source?: string | undefined;
  /** Panther's test records `{panther_log_type, ..., log}`: replay the vendor event in `log`. */
  readonly unwrap: boolean;
  readonly respondOnly: boolean;
  readonly plan: boolean;
  readonly topic?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** One input event: its piece, where it came from, and a delivery id fixed by file and position. */
interface Input {
  readonly piece: Piece;
  readonly source: string;
  readonly delivery: string;
  /** The format a Kafka record's riposte-format header names. */
  readonly format?: string | undefined;
  /** When the record reached Kafka; absent for files. */
  readonly receivedTime?: number | undefined;
}

interface Timed {
  readonly event: NormalizedEvent;
  readonly order: number;
  readonly delivery: string;
}

/** A decision as printed: the record, and with --plan the steps it would run. */
interface Line {
  readonly decision: Decision;
  readonly plan?: readonly PlannedStep[];
}

interface Run {
  readonly lines: Line[];
  readonly normalized: number;
  readonly dead: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The vendor event of a Panther test record, as `riposte normalize --unwrap` reads it. */
function unwrapped(piece: Piece): Piece | undefined {
  if (!piece.ok || piece.event.kind !== "json") return undefined;
  const v = piece.event.value;
  const log = v["log"];
  return typeof v["panther_log_type"] === "string" && isObject(log)
    ? { ok: true, event: { kind: "json", value: log }, text: JSON.stringify(log) }
    : undefined;
}

async function readInputs(files: readonly string[], opts: ReplayOptions): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const [f, file] of files.entries()) {
    let bytes = await readFile(file);
    if (file.endsWith(".gz")) bytes = gunzipSync(bytes);
    const source = opts.source ?? basename(file).replace(/\..*$/, "");
    for (const [i, raw] of splitBody(bytes.toString("utf8")).entries()) {
      const piece = (opts.unwrap ? unwrapped(raw) : undefined) ?? raw;
      // The argument's position and the file's name, not its path: the same files replay alike from anywhere.
      inputs.push({ piece, source, delivery: `replay/${f}/${basename(file)}/${i}` });
    }
  }
  return inputs;
}

/** The records of --topic between --from and --to. */
async function topicInputs(opts: ReplayOptions, config: Config): Promise<Input[]> {
  if (opts.topic === undefined || opts.topic === "")
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", "--from and --to go with --topic T");
  const from = isoTime("--from", opts.from);
  const to = isoTime("--to", opts.to);
  if (to <= from) throw new RiposteError("RIPOSTE_CONFIG_INVALID", `--to ${opts.to} is not after --from ${opts.from}`);
  if (!config.kafka.brokers)
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", "riposte replay --topic reads Kafka: set KAFKA_BROKERS");
  const records = await readTopic({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-replay`,
    topic: opts.topic,
    from,
    to,
    defaultSource: opts.source ?? config.rawSource,
  });
  return records.map((r) => (opts.unwrap ? { ...r, piece: unwrapped(r.piece) ?? r.piece } : r));
}

/** Most dead letters named one by one on stderr per run; the summary counts them all. */
const DEAD_SHOWN = 20;

function report(n: number, line: string): void {
  if (n <= DEAD_SHOWN) process.stderr.write(`riposte replay: ${line}\n`);
  if (n === DEAD_SHOWN + 1) process.stderr.write("riposte replay: more dead-lettered events are only counted\n");
}

type Outcome = { ok: true; event: NormalizedEvent } | { ok: false; code: string; reason: string };

/** An event already normalized (it carries the `riposte` block) is taken as is, once the schema accepts it. */
function asNormalized(piece: Piece): Outcome | undefined {
  if (!piece.ok || piece.event.kind !== "json" || !isObject(piece.event.value["riposte"])) return undefined;
  const parsed = NormalizedEvent.safeParse(piece.event.value);
  return parsed.success
    ? { ok: true, event: parsed.data }
    : { ok: false, code: "RIPOSTE_SCHEMA_INVALID", reason: `not a valid normalized event: ${parsed.error.message}` };
}

/**
 * Normalizes every input. No wall clock: an event without a time of its own is taken as received at the time of
 * the timed event before it in the input (after it, for leading ones), so it lands where it was recorded.
 */
function normalizeAll(inputs: readonly Input[], opts: ReplayOptions): { events: Timed[]; dead: number } {
  const one = (input: Input, receivedTime: number): Outcome =>
    asNormalized(input.piece) ??
    normalizePiece(input.piece, { source: input.source, format: opts.format ?? input.format, receivedTime });
  const first = inputs.map((input) => one(input, input.receivedTime ?? 0));
  const timeOf = (o: Outcome | undefined) => (o?.ok && !o.event.riposte.time_fallback ? o.event.time : undefined);
  // The nearest timed event before each input, and after it, in two linear passes.
  const before: Array<number | undefined> = [];
  const after: Array<number | undefined> = [];
  for (let i = 0, last: number | undefined; i < first.length; i++) before[i] = last = timeOf(first[i]) ?? last;
  for (let i = first.length - 1, next: number | undefined; i >= 0; i--) after[i] = next = timeOf(first[i]) ?? next;
  const out = first.map((o, i) => {
    if (!o.ok || !o.event.riposte.time_fallback || inputs[i]?.receivedTime !== undefined) return o;
    const t = before[i] ?? after[i];
    return t === undefined ? o : one(inputs[i] as Input, t);
  });
  const events: Timed[] = [];
  let dead = 0;
  out.forEach((o, order) => {
    const input = inputs[order] as Input;
    if (o.ok) events.push({ event: o.event, order, delivery: input.delivery });
    else {
      dead++;
      report(dead, `${input.delivery} dead-lettered (${o.code}): ${o.reason}`);
    }
  });
  // Stable: ties keep the input order.
  events.sort((a, b) => a.event.time - b.event.time || a.order - b.order);
  return { events, dead };
}

/** Runs one rule set over the inputs on fresh in-memory state, the clock at each event's time. */
async function runRules(rulesDir: string, inputs: readonly Input[], opts: ReplayOptions, config: Config): Promise<Run> {
  await loadSourceMappings(rulesDir);
  const { events, dead } = normalizeAll(inputs, opts);
  const lists = await loadLists(rulesDir);
  const rules = new RuleSet(await loadRules(rulesDir, lists), lists);
  let clock = 0;
  const now = () => clock;
  const statePrefix = "replay";
  const correlator = new Correlator({
    bus: new MemoryBus(),
    state: new MemoryState({ now }),
    topics: topicNames(statePrefix),
    rules,
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix,
    dedupWindowMs: config.dedupWindowMs,
    latenessMs: config.correlationLatenessMs,
    riskHalfLifeMs: config.riskHalfLifeMs,
    now,
  });
  const planState = new MemoryState({ now });
  const planDeps = opts.plan
    ? {
        playbooks: await loadPlaybooks(rulesDir),
        state: planState,
        statePrefix,
        identity: config.identity,
        guards: new Guards({
          state: planState,
          prefix: statePrefix,
          settings: await loadGuardSettings(config.guards, rulesDir),
          now,
        }),
      }
    : undefined;
  const lines: Line[] = [];
  let failed = 0;
  for (const { event, delivery } of events) {
    clock = event.time;
    let decisions: Decision[];
    try {
      decisions = await correlator.decide(event, delivery);
    } catch (e) {
      // As the correlator: an event its rules cannot decide is dead-lettered, the others go on.
      failed++;
      report(dead + failed, `${delivery} dead-lettered (RIPOSTE_CORRELATION_FAILED): ${messageOf(e)}`);
      continue;
    }
    for (const decision of decisions) {
      if (opts.respondOnly && decision.outcome !== "respond") continue;
      lines.push(planDeps ? { decision, plan: await planDecision(decision, planDeps) } : { decision });
    }
  }
  return { lines, normalized: events.length, dead: dead + failed };
}

const printed = (l: Line) => JSON.stringify(l.plan ? { ...l.decision, plan: l.plan } : l.decision);

function countBy<T>(items: readonly T[], keyOf: (t: T) => string | undefined): string {
  const m = new Map<string, number>();
  for (const t of items) {
    const k = keyOf(t);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].map(([k, n]) => `${k} ${n}`).join(", ") || "none";
}

function summary(label: string, inputs: number, run: Run): string {
  const ds = run.lines.map((l) => l.decision);
  const steps = run.lines.flatMap((l) => l.plan ?? []);
  return (
    `riposte replay${label}: ${inputs} events, ${run.normalized} normalized, ${run.dead} dead-lettered; ` +
    `${ds.length} decisions (${countBy(ds, (d) => d.outcome)}); by rule: ${countBy(ds, (d) => d.rule?.id)}` +
    (steps.length > 0 ? `; plan steps: ${countBy(steps, (s) => s.status)}` : "")
  );
}

/** What identifies a decision across a rule edit (its id carries the rule's version and hash): rule, target, alert. */
export interface DiffKey {
  readonly rule: string | null;
  readonly target: string;
  /** The alert that opened the decision: a correlation's oldest alert, else the alert itself. */
  readonly alert: string;
  /** Which occurrence of the key, when several decisions share one (duplicates of one alert). */
  readonly n: number;
}

const COMPARED = ["outcome", "playbook", "target", "params", "approval"] as const;

function keyed(lines: readonly Line[]): Map<string, { key: DiffKey; line: Line }> {
  const out = new Map<string, { key: DiffKey; line: Line }>();
  for (const line of lines) {
    const d = line.decision;
    const base = {
      rule: d.rule?.id ?? null,
      target: d.target ? targetKey(d.target) : (d.group_key ?? d.alert.entity_key),
      alert: d.alert_ids?.[0] ?? d.alert.uid,
    };
    let n = 0;
    while (out.has(canonicalJson({ ...base, n }))) n++;
    out.set(canonicalJson({ ...base, n }), { key: { ...base, n }, line });
  }
  return out;
}

/** What changed between two decisions of the same key: each compared field that differs, before and after. */
function changes(before: Line, after: Line): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  const b = before.decision as Record<string, unknown>;
  const a = after.decision as Record<string, unknown>;
  for (const f of COMPARED)
    if (canonicalJson(b[f] ?? null) !== canonicalJson(a[f] ?? null)) out[f] = { before: b[f], after: a[f] };
  const steps = (l: Line) => (l.plan ?? []).map((s) => `${s.step}:${s.status}`);
  if (canonicalJson(steps(before)) !== canonicalJson(steps(after)))
    out["plan"] = { before: before.plan, after: after.plan };
  return out;
}

/** The difference of `after` from `before`, as JSON lines in decision-time order, and the counts. */
export function diffRuns(before: readonly Line[], after: readonly Line[]): { lines: string[]; counts: string } {
  const b = keyed(before);
  const a = keyed(after);
  const out: Array<{ time: number; order: number; line: Record<string, unknown> }> = [];
  const counts = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  const withPlan = (l: Line) => ({ decision: l.decision, ...(l.plan ? { plan: l.plan } : {}) });
  for (const [k, { key, line }] of b) {
    const other = a.get(k);
    if (!other) {
      counts.removed++;
      out.push({ time: line.decision.time, order: out.length, line: { change: "removed", key, ...withPlan(line) } });
      continue;
    }
    const c = changes(line, other.line);
    if (Object.keys(c).length === 0) {
      counts.unchanged++;
      continue;
    }
    counts.changed++;
    out.push({
      time: other.line.decision.time,
      order: out.length,
      line: { change: "changed", key, before: line.decision.id, after: other.line.decision.id, changes: c },
    });
  }
  for (const [k, { key, line }] of a) {
    if (b.has(k)) continue;
    counts.added++;
    out.push({ time: line.decision.time, order: out.length, line: { change: "added", key, ...withPlan(line) } });
  }
  out.sort((x, y) => x.time - y.time || x.order - y.order);
  return {
    lines: out.map((o) => JSON.stringify(o.line)),
    counts: `${counts.added} added, ${counts.removed} removed, ${counts.changed} changed, ${counts.unchanged} unchanged`,
  };
}

export async function replayCommand(files: readonly string[], opts: ReplayOptions): Promise<number> {
  const fromKafka = opts.topic !== undefined || opts.from !== undefined || opts.to !== undefined;
  if (fromKafka && files.length > 0)
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", "riposte replay reads either files or --topic, not both");
  if (!fromKafka && files.length === 0) {
    process.stderr.write(
      "riposte replay: name one or more files (JSON, NDJSON or text lines, raw or normalized; .gz is inflated)\n",
    );
    return 2;
  }
  const config = loadConfig(process.env, CONNECTORS);
  const inputs = fromKafka ? await topicInputs(opts, config) : await readInputs(files, opts);
  const run = async (dir: string) => {
    try {
      return await runRules(dir, inputs, opts, config);
    } catch (e) {
      if (isRiposteError(e)) throw new RiposteError(e.code, `${dir}: ${e.message}`, { cause: e });
      throw e;
    }
  };
  const after = await run(opts.rulesDir);
  if (opts.against === undefined) {
    for (const l of after.lines) process.stdout.write(`${printed(l)}\n`);
    process.stderr.write(`${summary("", inputs.length, after)}\n`);
    return 0;
  }
  const before = await run(opts.against);
  const diff = diffRuns(before.lines, after.lines);
  for (const l of diff.lines) process.stdout.write(`${l}\n`);
  process.stderr.write(`${summary(` ${opts.against} (baseline)`, inputs.length, before)}\n`);
  process.stderr.write(`${summary(` ${opts.rulesDir}`, inputs.length, after)}\n`);
  process.stderr.write(`riposte replay: ${opts.rulesDir} against ${opts.against}: ${diff.counts}\n`);
  return 0;
}
