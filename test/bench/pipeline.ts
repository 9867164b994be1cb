/**
 * Rows 2 and 3: the thin path end to end in one process (ingest → correlator → executor), fed Suricata alerts
 * through `running.ingestor.ingest`, observed on the decisions and actions topics with a group of our own.
 *
 * Phase A (throughput): closed loop, at most `window` alerts ingested but not yet decided.
 * Phase B (latency): open loop at half of phase A's throughput, so latency is not just queueing behind our window.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { splitBody } from "../../services/ingest/body.ts";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { messageOf } from "../../services/shared/errors.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { startServices, type Running } from "../../services/runtime.ts";
import type { Subscription } from "../../services/shared/bus/index.ts";
import { FALCON_CLIENT_ID, FALCON_CLIENT_SECRET, startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { flowOfUid, suricataAlert } from "./alerts.ts";
import { MB, MemoryProbe, Samples, cpuMeter, every, fmtMs, fmtRate, gc, progress, type Row } from "./report.ts";

export interface PipelineOptions {
  readonly name: string;
  /** Short tag for topic prefixes and progress lines. */
  readonly tag: string;
  /** KAFKA_BROKERS / REDIS_URL for the distributed bus and state; empty for the embedded mode. */
  readonly env: Readonly<Record<string, string>>;
  readonly warmup: number;
  readonly alerts: number;
  /** Alerts per ingest call in phase A. */
  readonly batch: number;
  /** Most alerts ingested and not yet decided, phase A. */
  readonly window: number;
  /** Most ingest calls in flight, phase A. */
  readonly concurrency: number;
  readonly timeLimitMs: number;
  /** Phase B length. */
  readonly latencyPhaseMs: number;
  /** How long to wait for the executor to audit the respond decisions after each phase. */
  readonly actionGraceMs: number;
  /** Topic/state prefixes used, for cleanup on infrastructure we did not start. */
  readonly prefixes: string[];
}

interface Phase {
  sent: number;
  decided: number;
  firstSend: number;
  lastDecision: number;
  readonly latency: Samples;
  readonly outcomes: Record<string, number>;
  respond: number;
  actions: number;
  readonly actionLatency: Samples;
  readonly statuses: Record<string, number>;
  /** The parts of `latency`: ingest call → its answer (durable on the bus), → the decision's publish time, → seen. */
  readonly ackLatency: Samples;
  readonly toPublish: Samples;
  readonly toObserved: Samples;
}

const newPhase = (): Phase => ({
  sent: 0,
  decided: 0,
  firstSend: 0,
  lastDecision: 0,
  latency: new Samples(),
  outcomes: {},
  respond: 0,
  actions: 0,
  actionLatency: new Samples(),
  statuses: {},
  ackLatency: new Samples(),
  toPublish: new Samples(),
  toObserved: new Samples(),
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function benchPipeline(opts: PipelineOptions): Promise<Row> {
  const prefix = `bench-${opts.tag}-${randomBytes(3).toString("hex")}`;
  opts.prefixes.push(prefix);
  const stateDir = await mkdtemp(join(tmpdir(), "riposte-bench-"));
  let fake: FalconFake | undefined;
  let running: Running | undefined;
  let observer: Subscription | undefined;
  const memory = new MemoryProbe();
  try {
    // Every internal source that the rule matches is made a Falcon host (as alerts are generated), so each
    // respond decision leads to a real device lookup + contain call at the fake.
    fake = await startFalconFake();
    const devices = fake.devices;
    const config = loadConfig(
      {
        ...opts.env,
        RIPOSTE_TOPIC_PREFIX: prefix,
        RIPOSTE_API_TOKEN: `bench-${randomBytes(12).toString("hex")}`,
        RIPOSTE_LOG_LEVEL: "warn",
        RIPOSTE_RULES_DIR: "rules",
        // The fake is local: the executor is measured, not the default pacing of 50 requests a second.
        RIPOSTE_RATE_LIMITS: "*:10000/1s",
        RIPOSTE_STATE_DIR: stateDir,
        RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: fake.url,
        RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_ID: FALCON_CLIENT_ID,
        RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_SECRET: FALCON_CLIENT_SECRET,
      },
      CONNECTORS,
    );
    progress(
      `  ${opts.tag}: starting ingest, correlator and executor (${config.kafka.brokers ? "Kafka + Redis" : "embedded"})`,
    );
    running = await startServices({
      config,
      services: ["ingest", "correlator", "executor"],
      log: silentLogger,
      listen: false,
    });
    const ingestor = running.ingestor;
    if (!ingestor) throw new Error("no ingestor");
    const { topics } = running;

    // flow id → when its ingest call started, and the phase it counts for (late decisions stay in their phase).
    const pending = new Map<string, { t: number; phase: Phase; acked?: number }>();
    const respondAt = new Map<string, { t: number; phase: Phase }>();
    let phase = newPhase();
    let waiter: (() => void) | undefined;
    const wake = () => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };
    const waitWake = (ms = 20) =>
      new Promise<void>((resolve) => {
        waiter = resolve;
        setTimeout(resolve, ms);
      });

    observer = await running.bus.subscribe({
      groupId: `${prefix}.bench-observer`,
      topics: [topics.decisions, topics.actions],
      handler: async (batch) => {
        const now = performance.now();
        for (const m of batch) {
          const rec = JSON.parse(m.value.toString("utf8")) as {
            alert?: { uid?: string };
            alert_uid?: string;
            outcome?: string;
            status?: string;
          };
          if (m.topic === topics.decisions) {
            const flow = flowOfUid(rec.alert?.uid);
            const sent = flow === undefined ? undefined : pending.get(flow);
            if (flow === undefined || sent === undefined) continue;
            pending.delete(flow);
            const p = sent.phase;
            p.decided++;
            p.lastDecision = now;
            p.latency.add(now - sent.t);
            // The decision record's Kafka timestamp is its publish time (epoch ms), on this process's clock.
            const published = Number(m.timestamp) - performance.timeOrigin;
            if (sent.acked !== undefined && Number.isFinite(published)) {
              p.toPublish.add(Math.max(0, published - sent.acked));
              p.toObserved.add(Math.max(0, now - published));
            }
            const outcome = rec.outcome ?? "?";
            p.outcomes[outcome] = (p.outcomes[outcome] ?? 0) + 1;
            if (outcome === "respond") {
              p.respond++;
              respondAt.set(flow, sent);
            }
          } else {
            const flow = flowOfUid(rec.alert_uid);
            const sent = flow === undefined ? undefined : respondAt.get(flow);
            if (flow === undefined || sent === undefined) continue;
            respondAt.delete(flow);
            const p = sent.phase;
            p.actions++;
            p.actionLatency.add(now - sent.t);
            const status = rec.status ?? "?";
            p.statuses[status] = (p.statuses[status] ?? 0) + 1;
          }
        }
        wake();
      },
    });

    let next = 0;
    let failure: unknown;
    const send = (n: number): Promise<void> => {
      const lines: string[] = [];
      const flows: string[] = [];
      for (let j = 0; j < n; j++) {
        const a = suricataAlert(next++, Date.now());
        if (a.kind === "match") devices.set(a.srcIp, next.toString(16).padStart(32, "0"));
        lines.push(a.line);
        flows.push(a.flow);
      }
      const t = performance.now();
      if (phase.sent === 0) phase.firstSend = t;
      const entry: { t: number; phase: Phase; acked?: number } = { t, phase };
      for (const f of flows) pending.set(f, entry);
      phase.sent += n;
      const p = phase;
      return ingestor.ingest(splitBody(lines.join("\n")), { source: "suricata" }).then(
        (r) => {
          entry.acked = performance.now();
          p.ackLatency.add(entry.acked - t);
          if (r.normalized !== n) failure ??= new Error(`ingest normalized ${r.normalized} of ${n} alerts`);
        },
        (e: unknown) => {
          failure ??= e;
        },
      );
    };
    const check = () => {
      if (failure !== undefined) throw failure instanceof Error ? failure : new Error(messageOf(failure));
    };

    // Live heap per alert in flight: measured once, after a full GC, halfway through phase A while the window is
    // nearly full, against the heap after a full GC with nothing in flight.
    const heap: { idle?: number } = {};
    let heapProbe: { bytes: number; undecided: number } | undefined;
    const probeHeap = (n: number) => {
      if (heap.idle === undefined || heapProbe !== undefined || phase.sent < n / 2) return;
      const undecided = phase.sent - phase.decided;
      if (undecided < opts.window * 0.8) return;
      gc();
      heapProbe = { bytes: process.memoryUsage().heapUsed - heap.idle, undecided };
    };

    /** Closed loop: `n` alerts, `batch` per call, at most `window` undecided and `concurrency` calls in flight. */
    const closedLoop = async (n: number, deadline: number): Promise<void> => {
      let inflight = 0;
      while (phase.sent < n && performance.now() < deadline) {
        check();
        probeHeap(n);
        if (phase.sent - phase.decided >= opts.window || inflight >= opts.concurrency) {
          await waitWake();
          continue;
        }
        inflight++;
        void send(Math.min(opts.batch, n - phase.sent)).finally(() => {
          inflight--;
          wake();
        });
      }
    };
    const drain = async (deadline: number): Promise<void> => {
      while (phase.decided < phase.sent && performance.now() < deadline) {
        check();
        await waitWake(50);
      }
    };
    const actionsCatchUp = async (ms: number): Promise<number> => {
      const t = performance.now();
      while (phase.actions < phase.respond && performance.now() - t < ms) await waitWake(50);
      return performance.now() - t;
    };

    // Warm-up: joins the consumer groups (Kafka), fills caches and the JIT; not measured.
    progress(`  ${opts.tag}: warm-up with ${opts.warmup} alerts`);
    const warmEnd = performance.now() + 60_000;
    await closedLoop(opts.warmup, warmEnd);
    await drain(warmEnd);
    if (phase.decided < phase.sent)
      throw new Error(`warm-up: only ${phase.decided}/${phase.sent} alerts decided in 60 s`);
    await actionsCatchUp(opts.actionGraceMs);

    // Phase A: throughput.
    gc();
    heap.idle = process.memoryUsage().heapUsed;
    phase = newPhase();
    const a = phase;
    progress(
      `  ${opts.tag}: phase A, ${opts.alerts.toLocaleString("en-US")} alerts, closed loop (≤${opts.window} undecided)`,
    );
    const stopTicker = every(2000, () =>
      progress(
        `  ${opts.tag}: ${a.decided.toLocaleString("en-US")}/${a.sent.toLocaleString("en-US")} decided, ` +
          `${a.actions}/${a.respond} respond decisions audited`,
      ),
    );
    const deadline = performance.now() + opts.timeLimitMs;
    const cpuA = cpuMeter();
    try {
      await closedLoop(opts.alerts, deadline);
      await drain(deadline + 10_000);
      check();
    } finally {
      stopTicker();
    }
    const cpu = cpuA();
    const seconds = (a.lastDecision - a.firstSend) / 1000;
    const rate = a.decided / seconds;
    const lagMs = await actionsCatchUp(opts.actionGraceMs);
    progress(
      `  ${opts.tag}: phase A ${fmtRate(rate, "alerts")}, decision p50 ${fmtMs(a.latency.percentile(50))}; ` +
        `${a.actions}/${a.respond} actions audited ${(lagMs / 1000).toFixed(1)} s after the last decision`,
    );

    // Phase B: latency at half the measured throughput, 10 alerts per ingest call on a fixed schedule.
    phase = newPhase();
    const b = phase;
    const offered = Math.max(20, Math.floor(rate / 2));
    const perCall = 10;
    const intervalMs = (perCall / offered) * 1000;
    const calls = Math.max(10, Math.floor(opts.latencyPhaseMs / intervalMs));
    progress(
      `  ${opts.tag}: phase B, open loop at ${offered} alerts/s for ${(opts.latencyPhaseMs / 1000).toFixed(0)} s`,
    );
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const bStart = performance.now();
    const sends: Array<Promise<void>> = [];
    for (let c = 0; c < calls; c++) {
      const due = bStart + c * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      check();
      sends.push(send(perCall));
    }
    await Promise.all(sends);
    await drain(performance.now() + 30_000);
    loopDelay.disable();
    check();
    const bLag = await actionsCatchUp(opts.actionGraceMs);
    const mem = memory.finish();

    const outcomes = Object.entries(a.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    const statuses = Object.entries(a.statuses)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    const incomplete = a.decided < opts.alerts ? ` (time limit: ${a.decided} of ${opts.alerts})` : "";
    return {
      name: opts.name,
      throughput: fmtRate(rate, "alerts"),
      p50: fmtMs(b.latency.percentile(50)),
      p99: fmtMs(b.latency.percentile(99)),
      unit: "alerts/s",
      p50Ms: b.latency.percentile(50),
      p99Ms: b.latency.percentile(99),
      ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
      memory: mem,
      rate,
      notes:
        `ingest call → decision record; p50/p99 at ${offered} alerts/s open loop (${b.decided} alerts, 10/call; ` +
        `parts, p50/p99: ingest answered ${fmtMs(b.ackLatency.percentile(50))}/${fmtMs(b.ackLatency.percentile(99))}, ` +
        `→ decision published ${fmtMs(b.toPublish.percentile(50))}/${fmtMs(b.toPublish.percentile(99))}, ` +
        `→ seen by a consumer ${fmtMs(b.toObserved.percentile(50))}/${fmtMs(b.toObserved.percentile(99))}; ` +
        `event-loop delay p99 ${fmtMs(loopDelay.percentile(99) / 1e6)}, max ${fmtMs(loopDelay.max / 1e6)}); ` +
        `throughput: ${a.decided.toLocaleString("en-US")} alerts${incomplete} in ${seconds.toFixed(1)} s, ${opts.batch}/call, ` +
        `≤${opts.window} undecided, ${cpu} (decision p50 ${fmtMs(a.latency.percentile(50))} / p99 ${fmtMs(a.latency.percentile(99))} there); ` +
        `outcomes: ${outcomes}; executor live against the Falcon fake: ${a.actions}/${a.respond} audited ` +
        `${(lagMs / 1000).toFixed(1)} s after the last decision (${statuses}), ingest → audit p50 ` +
        `${fmtMs(a.actionLatency.percentile(50))}; phase B ingest → audit p50 ${fmtMs(b.actionLatency.percentile(50))} ` +
        `(${b.actions}/${b.respond}${bLag >= opts.actionGraceMs ? ", grace ran out" : ""}); ` +
        (heapProbe
          ? `live heap per alert in flight ${(heapProbe.bytes / heapProbe.undecided / 1024).toFixed(1)} KB ` +
            `(${(heapProbe.bytes / MB).toFixed(1)} MB over the idle heap with ${heapProbe.undecided} undecided, after a full GC` +
            (opts.env["KAFKA_BROKERS"]
              ? ")"
              : "; embedded, it includes the in-memory state and topics of what was decided so far)")
          : "live heap per alert in flight not measured (the window never filled)"),
    };
  } finally {
    progress(`  ${opts.tag}: stopping`);
    await observer?.stop();
    await running?.stop();
    await fake?.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}
