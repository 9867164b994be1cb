/**
 * The rule rows: generated rule sets of 30, 300 and 3,000 rules over the corpus mix's fields
 * (services/correlator/compile.testing.ts), evaluated by json-rules-engine as Riposte configured it before the
 * compiled engine (ReferenceRuleSet: json-rules-engine 7.3.1, Riposte's operators and path resolver) and by the
 * compiled RuleSet. Same matches are asserted: on every event at 30 and 300 rules, on a sample at 3,000 (where
 * json-rules-engine takes a fraction of a second an event).
 */
import { performance } from "node:perf_hooks";
import type { NormalizedEvent } from "../../schemas/index.ts";
import { generateRules } from "../../services/correlator/compile.testing.ts";
import type { NamedLists } from "../../services/correlator/operators.ts";
import { ReferenceRuleSet, RuleSet, type LoadedRule } from "../../services/correlator/ruleset.ts";
import { MemoryProbe, Samples, fmtMs, fmtRate, progress, ratio, type Row } from "./report.ts";

export interface RulesOptions {
  /** Rule counts; json-rules-engine runs in full at those up to `fullReferenceUpTo`. */
  readonly sizes: readonly number[];
  readonly fullReferenceUpTo: number;
  /** Events checked against json-rules-engine above that. */
  readonly referenceSample: number;
  readonly jreSeconds: number;
  readonly riposteSeconds: number;
  readonly seed: number;
  /** Row id and name for each engine and size. */
  readonly row: (engine: "jre" | "riposte", size: number) => { id: string; name: string };
}

const ids = (rs: readonly LoadedRule[]) => rs.map((r) => r.rule.id).join(",");
const tick = () => new Promise((r) => setImmediate(r));

interface Measured {
  readonly rate: number;
  readonly latency: Samples;
  readonly memory: string;
  readonly rssMb: number | undefined;
  readonly evals: number;
}

/** json-rules-engine: one pass over the events at least (their answers are what the compiled engine must give). */
async function measureReference(
  reference: ReferenceRuleSet,
  events: readonly NormalizedEvent[],
  seconds: number,
  answers: Map<number, string>,
): Promise<Measured> {
  const latency = new Samples();
  const probe = new MemoryProbe();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let n = 0;
  for (;;) {
    const i = n % events.length;
    const t = performance.now();
    const got = await reference.evaluate(events[i] as NormalizedEvent);
    latency.add(performance.now() - t);
    if (!answers.has(i)) answers.set(i, ids(got));
    n++;
    if (n >= events.length && performance.now() >= deadline) break;
  }
  const elapsed = (performance.now() - start) / 1000;
  const memory = probe.finish();
  return { rate: n / elapsed, latency, memory, rssMb: probe.peakMb, evals: n };
}

/** Evaluations per second in the measured windows, and their spread. */
interface Windows {
  /** The fastest window: what the engine does with the core to itself (the machine's other load only slows one). */
  readonly best: number;
  readonly mean: number;
  readonly slowest: number;
  /** Evaluations per CPU-second of this process over all the windows. */
  readonly perCpuSecond: number;
  readonly count: number;
}

const WINDOW_MS = 500;

/**
 * The compiled engine: 3 s of warm-up, then windows of about half a second (chunks of 10,000 evaluations, a yield
 * between windows so that the memory sampler runs), then a latency pass timing each call. The rate is the fastest
 * window's, as timeit reports the best of its repeats: on a shared machine other processes take the core for some
 * windows, which says nothing of the engine; the mean and the rate per CPU-second go into the notes.
 */
async function measureCompiled(
  set: RuleSet,
  events: readonly NormalizedEvent[],
  seconds: number,
): Promise<Measured & { readonly windows: Windows }> {
  let sink = 0;
  // Warm-up, not measured: generated code (and the interpreter) is optimized by V8 once it has run enough.
  const warm = performance.now() + 3000;
  for (let k = 0; performance.now() < warm; k += 10_000)
    for (let j = 0; j < 10_000; j++) sink += set.match(events[(k + j) % events.length] as NormalizedEvent).length;
  const probe = new MemoryProbe();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const rates: number[] = [];
  let n = 0;
  while (performance.now() < deadline) {
    const t = performance.now();
    let m = 0;
    do {
      for (let k = 0; k < 10_000; k++) sink += set.match(events[(n + m + k) % events.length] as NormalizedEvent).length;
      m += 10_000;
    } while (performance.now() - t < WINDOW_MS);
    rates.push(m / ((performance.now() - t) / 1000));
    n += m;
    await tick();
  }
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const memory = probe.finish();
  const latency = new Samples();
  for (let k = 0; k < 200_000; k++) {
    const t = performance.now();
    sink += set.match(events[k % events.length] as NormalizedEvent).length;
    latency.add(performance.now() - t);
  }
  if (sink < 0) progress(String(sink)); // keeps the loops from being optimized away
  const windows: Windows = {
    best: Math.max(...rates),
    mean: n / elapsed,
    slowest: Math.min(...rates),
    perCpuSecond: n / ((used.user + used.system) / 1e6),
    count: rates.length,
  };
  return { rate: windows.best, latency, memory, rssMb: probe.peakMb, evals: n, windows };
}

/** The rule rows, json-rules-engine first at each size. */
export async function benchRules(
  events: readonly NormalizedEvent[],
  sources: string,
  lists: NamedLists,
  opts: RulesOptions,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of opts.sizes) {
    const rules = generateRules(events, size, opts.seed);
    const t = performance.now();
    const set = new RuleSet(rules, lists);
    const compileMs = performance.now() - t;
    const reference = new ReferenceRuleSet(rules, lists);
    const full = size <= opts.fullReferenceUpTo;
    const checked = full ? events : events.filter((_, i) => i % Math.ceil(events.length / opts.referenceSample) === 0);

    const answers = new Map<number, string>();
    let jre: Measured | undefined;
    if (full) {
      jre = await measureReference(reference, checked, opts.jreSeconds, answers);
    } else {
      for (let i = 0; i < checked.length; i++)
        answers.set(i, ids(await reference.evaluate(checked[i] as NormalizedEvent)));
    }
    let disagree = 0;
    for (const [i, want] of answers) {
      if (ids(set.match(checked[i] as NormalizedEvent)) !== want) disagree++;
    }
    if (disagree > 0) throw new Error(`${size} rules: the engines disagree on ${disagree} of ${answers.size} events`);
    const candidates = events.reduce((s, e) => s + set.candidates(e), 0) / events.length;
    const matches = events.reduce((s, e) => s + set.match(e).length, 0) / events.length;
    const ours = await measureCompiled(set, events, opts.riposteSeconds);
    progress(
      `  rules ${size}: riposte ${fmtRate(ours.rate, "evals")}` +
        (jre ? `, json-rules-engine ${fmtRate(jre.rate, "evals")}` : "") +
        `; same matches on ${answers.size} events`,
    );
    const common =
      `${size.toLocaleString("en-US")} generated rules (seed ${opts.seed}) over ${events.length} normalized events ` +
      `(${sources}), ${matches.toFixed(2)} matches an event`;
    const agreement = `same matches as json-rules-engine on ${full ? "every one" : `a sample of ${answers.size}`} of the events`;
    if (jre) {
      const { id, name } = opts.row("jre", size);
      rows.push({
        id,
        name,
        throughput: fmtRate(jre.rate, "evals"),
        p50: fmtMs(jre.latency.percentile(50)),
        p99: fmtMs(jre.latency.percentile(99)),
        memory: jre.memory,
        rate: jre.rate,
        unit: "evals/s",
        p50Ms: jre.latency.percentile(50),
        p99Ms: jre.latency.percentile(99),
        ...(jre.rssMb === undefined ? {} : { rssMb: jre.rssMb }),
        notes:
          `json-rules-engine 7.3.1 as Riposte ran it before (ReferenceRuleSet: Riposte's operators, valueAt paths, ` +
          `await per event); ${common}; ${jre.evals.toLocaleString("en-US")} evals`,
      });
    }
    const { id, name } = opts.row("riposte", size);
    rows.push({
      id,
      name,
      throughput: fmtRate(ours.rate, "evals"),
      p50: fmtMs(ours.latency.percentile(50)),
      p99: fmtMs(ours.latency.percentile(99)),
      memory: ours.memory,
      rate: ours.rate,
      unit: "evals/s",
      p50Ms: ours.latency.percentile(50),
      p99Ms: ours.latency.percentile(99),
      ...(ours.rssMb === undefined ? {} : { rssMb: ours.rssMb }),
      notes:
        `${jre ? `${ratio(ours.rate, jre.rate)} json-rules-engine; ` : ""}${agreement}; RuleSet.match (${set.engine}, ` +
        `synchronous, no allocation); index on ${set.stats.fields.slice(0, 4).join(", ")}` +
        `${set.stats.fields.length > 4 ? ", …" : ""}` +
        `${set.stats.leaves.length > 0 ? ` and shared pattern leaves (${set.stats.leaves.slice(0, 2).join(", ")}${set.stats.leaves.length > 2 ? ", …" : ""})` : ""}` +
        `: ${candidates.toFixed(1)} of ${size} rules evaluated an event; ` +
        `compiled in ${compileMs.toFixed(0)} ms; ${common}; rate: the fastest of ${ours.windows.count} windows of ` +
        `${WINDOW_MS} ms (mean ${fmtRate(ours.windows.mean, "evals")}, slowest ${fmtRate(ours.windows.slowest, "evals")}, ` +
        `${Math.round(ours.windows.perCpuSecond).toLocaleString("en-US")} evals per CPU-second); latency timed per call (includes the timer)`,
    });
  }
  return rows;
}
