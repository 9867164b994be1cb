/**
 * playbooks: playbook runs per second through the executor (durable runs in embedded state, planner, ledger, audit
 * on the embedded bus) against local vendor fakes over real HTTP, served from a worker thread (vendor-thread.ts): a 4-step graph — a CrowdStrike device lookup and
 * a webhook ticket in parallel, the containment of the device the lookup found (`{{steps.lookup.output.device_id}}`),
 * then a Slack notice when both are done. Each run is its own decision on its own host (6 HTTP requests a run:
 * host query and details, device details and the contain action, the webhook, Slack). Budgets and rate limits are
 * off (they would refuse the 11th host per rule): this measures the engine, not the guards' policy.
 */
import { performance } from "node:perf_hooks";
import type { Decision } from "../../schemas/index.ts";
import { PlaybookFile, targetKey } from "../../schemas/index.ts";
import { CONNECTORS, Executor, Guards, defaultGuardSettings } from "../../services/executor/index.ts";
import { HttpTransport } from "../../services/executor/connectors/http.ts";
import { MemoryBus } from "../../services/shared/bus/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { Metrics } from "../../services/shared/metrics.ts";
import { MemoryState } from "../../services/shared/state/index.ts";
import { startVendorThread } from "./vendor-thread.ts";
import { MemoryProbe, Samples, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface PlaybooksOptions {
  readonly id: string;
  readonly name: string;
  readonly seconds: number;
  /** Runs in flight at once (decisions of different hosts run concurrently, as a batch's keys do). */
  readonly concurrency: number;
  /** Distinct hosts the fake EDR knows (runs cycle through them). */
  readonly hosts: number;
}

const PLAYBOOK = PlaybookFile.parse({
  id: "bench-isolate",
  version: 1,
  name: "Look up, ticket, contain, notify",
  steps: [
    { id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" }, needs: [] },
    {
      id: "ticket",
      connector: "webhook",
      action: "post",
      params: { decision: "{{decision.id}}", title: "Ticket: {{target.value}}" },
      needs: [],
    },
    {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      params: { device_id: "{{steps.lookup.output.device_id}}" },
      needs: ["lookup"],
    },
    {
      id: "notify",
      connector: "slack",
      action: "post_message",
      params: { title: "Contained {{steps.contain.output.device_id}}", decision: "{{decision.id}}" },
      needs: ["contain", "ticket"],
    },
  ],
});

const hex32 = (i: number) => i.toString(16).padStart(32, "0");

/**
 * Bare POSTs to a local fake through the connectors' own HTTP transport (keep-alive), `concurrency` at a time for
 * `seconds`: the HTTP ceiling of this process, client and fake included.
 */
async function rawRequestsPerSecond(url: string, concurrency: number, seconds: number): Promise<number> {
  const transport = new HttpTransport("baseline", url);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await transport.send({ method: "POST", path: "/baseline", json: {} });
        n++;
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

export async function benchPlaybooks(opts: PlaybooksOptions): Promise<Row> {
  const devices = Object.fromEntries(Array.from({ length: opts.hosts }, (_v, i) => [`bench-${i}`, hex32(i + 1)]));
  // The fakes answer from a worker thread: the executor's event loop and CPU time below are its own.
  const vendors = await startVendorThread(devices);
  const bus = new MemoryBus();
  const topics = topicNames("bench-playbooks");
  await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const state = new MemoryState();
  const metrics = new Metrics();
  const executor = new Executor({
    bus,
    state,
    topics,
    playbooks: new Map([[PLAYBOOK.id, PLAYBOOK]]),
    connectors: CONNECTORS,
    connectorConfig: vendors.connectorConfig,
    log: silentLogger,
    metrics,
    statePrefix: "bench-playbooks",
    guards: new Guards({
      state,
      prefix: "bench-playbooks",
      settings: defaultGuardSettings({ budgets: [], rateLimits: [] }),
    }),
  });
  let seq = 0;

  const one = async (latency?: Samples) => {
    const i = seq++;
    const host = `bench-${i % opts.hosts}`;
    const d: Decision = {
      id: `bench-${i}`,
      outcome: "respond",
      time: Date.now(),
      alert: {
        uid: `a-${i}`,
        fingerprint: `f-${i}`,
        entity_key: `host:${host}`,
        class_uid: 2004,
        title: "bench",
        source: "bench",
        severity_id: 4,
        time: Date.now(),
      },
      rule: { id: "bench", version: 1, hash: "h", name: "bench" },
      playbook: PLAYBOOK.id,
      target: { type: "host", value: host },
      params: {},
      approval: "none",
    };
    const t = performance.now();
    await executor.handle([
      {
        topic: topics.decisions,
        partition: 0,
        offset: String(i),
        key: targetKey({ type: "host", value: host }),
        value: Buffer.from(JSON.stringify(d)),
        headers: {},
        timestamp: Date.now(),
      },
    ]);
    latency?.add(performance.now() - t);
  };
  try {
    // The baseline, measured the same minute: bare HTTP requests to the same fake at the same concurrency.
    const ceiling = await rawRequestsPerSecond(vendors.webhookUrl, opts.concurrency, 3);
    for (let k = 0; k < 200; k++) await one();
    const latency = new Samples();
    const memory = new MemoryProbe();
    const requestsBefore = await vendors.requests();
    const start = performance.now();
    const cpu0 = process.threadCpuUsage();
    const all0 = process.cpuUsage();
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
    const cpu = process.threadCpuUsage(cpu0);
    const all = process.cpuUsage(all0);
    const cpuPerRunUs = (cpu.user + cpu.system) / Math.max(1, done);
    const allPerRunUs = (all.user + all.system) / Math.max(1, done);
    const mem = memory.finish();
    const requests = (await vendors.requests()) - requestsBefore;
    // Every run must have ended succeeded (its four steps done once each).
    const runs = await executor.runs.list({ limit: 200 });
    const failed = runs.runs.filter((r) => r.status !== "succeeded").length;
    const rate = done / seconds;
    progress(
      `  playbooks: ${fmtRate(rate, "runs")}, ${Math.round(requests / seconds)} vendor requests/s (bare HTTP ${Math.round(ceiling)}/s), CPU ${Math.round(cpuPerRunUs)} µs a run (${Math.round(allPerRunUs)} µs with the fakes' thread)`,
    );
    return {
      id: opts.id,
      name: opts.name,
      throughput: fmtRate(rate, "runs"),
      p50: fmtMs(latency.percentile(50)),
      p99: fmtMs(latency.percentile(99)),
      memory: mem,
      rate,
      unit: "runs/s",
      p50Ms: latency.percentile(50),
      p99Ms: latency.percentile(99),
      ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
      notes:
        `4-step graph (lookup ∥ ticket → contain with the lookup's device id → notify) against local CrowdStrike, ` +
        `webhook and Slack fakes over HTTP in a worker thread, embedded state and bus, ${opts.concurrency} runs in ` +
        `flight; ${done.toLocaleString("en-US")} runs in ${seconds.toFixed(1)} s, CPU of the executor's thread (user+sys) ` +
        `${Math.round(cpuPerRunUs).toLocaleString("en-US")} µs a run (${Math.round(allPerRunUs).toLocaleString("en-US")} µs with the ` +
        `fakes' thread), ${Math.round(requests / done)} ` +
        `vendor requests per run (${Math.round(requests / seconds).toLocaleString("en-US")}/s); ` +
        `${failed} of the last 200 runs not succeeded; baseline: bare HTTP requests to a fake in that thread ` +
        `${Math.round(ceiling).toLocaleString("en-US")}/s, i.e. at most ${Math.round(ceiling / Math.max(1, requests / done))} ` +
        `runs/s at this many requests a run; goal ≥ 2,000 runs/s`,
    };
  } finally {
    await executor.stop();
    await bus.close();
    await state.close();
    await metrics.close();
    await vendors.close();
  }
}
