/**
 * correlate.redis: the correlator's decision path (Correlator.decide: dedup claim, rule evaluation, correlation
 * and dedup state, decisions) on Redis state with the shipped rules (the starter pack), over the corpus mix's
 * normalized events. No bus: this is the correlator's own cost on real Redis round trips. Each evaluation gets a
 * fresh fingerprint (otherwise every repeat is a duplicate) and the current time (so correlation windows apply).
 */
import { performance } from "node:perf_hooks";
import type { NormalizedEvent } from "../../schemas/index.ts";
import { Correlator } from "../../services/correlator/correlator.ts";
import { loadLists, loadRules } from "../../services/correlator/load.ts";
import { RuleSet } from "../../services/correlator/ruleset.ts";
import { MemoryBus } from "../../services/shared/bus/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { Metrics } from "../../services/shared/metrics.ts";
import { RedisState } from "../../services/shared/state/index.ts";
import { MemoryProbe, Samples, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface CorrelateOptions {
  readonly id: string;
  readonly name: string;
  readonly redisUrl: string;
  readonly rulesDir: string;
  readonly events: readonly NormalizedEvent[];
  readonly seconds: number;
  /** Decisions in flight at once (as the correlator runs a batch's keys concurrently). */
  readonly concurrency: number;
  /** Key prefix in Redis, deleted by the caller. */
  readonly prefix: string;
}

export async function benchCorrelate(opts: CorrelateOptions): Promise<Row> {
  const lists = await loadLists(opts.rulesDir);
  const rules = new RuleSet(await loadRules(opts.rulesDir, lists), lists);
  const state = new RedisState(opts.redisUrl);
  await state.ready();
  const metrics = new Metrics();
  const correlator = new Correlator({
    bus: new MemoryBus(),
    state,
    topics: topicNames(opts.prefix),
    rules,
    log: silentLogger,
    metrics,
    statePrefix: opts.prefix,
    dedupWindowMs: 60_000,
  });
  let seq = 0;
  const outcomes = new Map<string, number>();
  const one = async (latency?: Samples) => {
    const i = seq++;
    const e = opts.events[i % opts.events.length] as NormalizedEvent;
    const fresh = { ...e, time: Date.now(), riposte: { ...e.riposte, fingerprint: `${e.riposte.fingerprint}:${i}` } };
    const t = performance.now();
    const decisions = await correlator.decide(fresh, `bench:${i}`);
    latency?.add(performance.now() - t);
    for (const d of decisions) outcomes.set(d.outcome, (outcomes.get(d.outcome) ?? 0) + 1);
  };
  try {
    for (let k = 0; k < 500; k++) await one();
    outcomes.clear();
    const latency = new Samples();
    const memory = new MemoryProbe();
    const start = performance.now();
    const deadline = start + opts.seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (performance.now() < deadline) {
          await one(latency);
          done++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const mem = memory.finish();
    const rate = done / seconds;
    const mix = [...outcomes.entries()].map(([o, n]) => `${o} ${n}`).join(", ");
    progress(`  correlate: ${fmtRate(rate, "events")} (${mix})`);
    return {
      id: opts.id,
      name: opts.name,
      throughput: fmtRate(rate, "events"),
      p50: fmtMs(latency.percentile(50)),
      p99: fmtMs(latency.percentile(99)),
      memory: mem,
      rate,
      unit: "events/s",
      p50Ms: latency.percentile(50),
      p99Ms: latency.percentile(99),
      ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
      notes:
        `Correlator.decide on Redis (${opts.redisUrl.replace(/\/\/[^@]*@/, "//")}), ${rules.rules.length} shipped ` +
        `rules, ${opts.events.length} corpus events round-robin with fresh fingerprints, ${opts.concurrency} in ` +
        `flight; ${done.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s; decisions: ${mix}`,
    };
  } finally {
    await state.close();
    await metrics.close();
  }
}
