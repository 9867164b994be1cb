/**
 * Rows ip_blocks and ip_blocks.http: coalesced IP blocks through the executor (decisions in, block_ip steps with a
 * 24h lease, audit records out on the in-process bus, in-memory state), into the EDL (one state write per batch)
 * and into a local HTTP firewall fake taking User-ID register messages (one request per batch). Counts the vendor
 * requests (list writes, HTTP requests) against the blocks.
 */
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { PlaybookFile, targetKey, type Decision } from "../../schemas/index.ts";
import { MemoryBus, type InMessage } from "../../services/shared/bus/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { Metrics } from "../../services/shared/metrics.ts";
import { MemoryState, type StateStore } from "../../services/shared/state/index.ts";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { edlKey } from "../../services/executor/connectors/edl/list.ts";
import { Executor } from "../../services/executor/executor.ts";
import { Guards, defaultGuardSettings } from "../../services/executor/guards.ts";
import { FAKEWALL_KEY, fakewallConnector, startUserIdFake } from "../fakes/userid-firewall.ts";
import { MemoryProbe, Samples, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface IpBlocksOptions {
  readonly name: string;
  readonly target: "edl" | "http";
  /** Decisions in all (each a distinct address). */
  readonly blocks: number;
  /** Decisions handed to the executor per handle() call, and how many calls run at once (partitions). */
  readonly batch: number;
  readonly concurrency: number;
  readonly windowMs: number;
  readonly max: number;
}

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function message(i: number, topic: string): InMessage {
  const d: Decision = {
    id: `bench-${i}`,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `a${i}`,
      fingerprint: "f",
      entity_key: `ip:${ip(i)}`,
      class_uid: 4001,
      title: "t",
      source: "bench",
      severity_id: 4,
      time: 1,
    },
    rule: { id: "bench", version: 1, hash: "h", name: "bench" },
    playbook: "block-ip",
    target: { type: "ip", value: ip(i) },
    params: {},
    approval: "none",
  };
  return {
    topic,
    partition: 0,
    offset: String(i),
    key: targetKey(d.target ?? { type: "ip", value: "" }),
    value: Buffer.from(JSON.stringify(d)),
    headers: {},
    timestamp: Date.now(),
  };
}

export async function benchIpBlocks(opts: IpBlocksOptions): Promise<Row> {
  const fw = opts.target === "http" ? await startUserIdFake() : undefined;
  const topics = topicNames("bench-ip");
  const bus = new MemoryBus();
  await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const inner = new MemoryState();
  let writes = 0;
  const state = Object.create(inner) as StateStore;
  const listKey = edlKey("bench-ip", "block");
  state.append = (k, entries, cutoff, cap, ttl) => {
    if (k === listKey) writes++;
    return inner.append(k, entries, cutoff, cap, ttl);
  };
  const pb = PlaybookFile.parse({
    id: "block-ip",
    version: 1,
    name: "Block",
    steps: [
      {
        id: "block",
        connector: opts.target === "edl" ? "edl" : "fakewall",
        action: "block_ip",
        params:
          opts.target === "edl" ? { ip: "{{target.value}}", list: "block", ttl: "24h" } : { ip: "{{target.value}}" },
        timeout: "30s",
        lease: { ttl: "24h" },
      },
    ],
  });
  const executor = new Executor({
    bus,
    state,
    topics,
    playbooks: new Map([[pb.id, pb]]),
    connectors: [...CONNECTORS, fakewallConnector],
    connectorConfig: fw ? { fakewall: { url: fw.url, credentials: { api_key: FAKEWALL_KEY }, dryRun: false } } : {},
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "bench-ip",
    // No budgets (they would refuse after 20 by default: that is their point); rate limits stay as configured.
    guards: new Guards({ state, prefix: "bench-ip", settings: defaultGuardSettings({ budgets: [] }) }),
    coalesce: { windowMs: opts.windowMs, max: opts.max },
  });
  const messages = Array.from({ length: opts.blocks }, (_, i) => message(i, topics.decisions));
  const chunks: InMessage[][] = [];
  for (let i = 0; i < messages.length; i += opts.batch) chunks.push(messages.slice(i, i + opts.batch));
  const load = loadavg()[0] ?? 0;
  const memory = new MemoryProbe();
  const perCall = new Samples();
  // CPU time per block: less sensitive to a shared machine than the rate.
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const chunk = chunks[next++];
      if (!chunk) return;
      const t = performance.now();
      await executor.handle(chunk);
      perCall.add(performance.now() - t);
      done += chunk.length;
      if (done % (opts.batch * opts.concurrency * 5) === 0) progress(`  ip_blocks ${opts.target}: ${done} blocks`);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mem = memory.finish();
  const offsets = await bus.offsets(topics.actions);
  const records = Number(offsets.get(0)?.high ?? "0");
  const requests = fw ? fw.requests.length : writes;
  const blocked = fw ? fw.registered.size : opts.blocks;
  await bus.close();
  await fw?.close();
  if (records !== opts.blocks) throw new Error(`expected ${opts.blocks} audit records, got ${records}`);
  if (blocked !== opts.blocks) throw new Error(`expected ${opts.blocks} addresses blocked, got ${blocked}`);
  const rate = opts.blocks / seconds;
  return {
    name: opts.name,
    throughput: fmtRate(rate, "blocks"),
    p50: fmtMs(perCall.percentile(50)),
    p99: fmtMs(perCall.percentile(99)),
    unit: "blocks/s",
    p50Ms: perCall.percentile(50),
    p99Ms: perCall.percentile(99),
    ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
    memory: mem,
    rate,
    notes:
      `${opts.blocks.toLocaleString("en-US")} blocks (distinct addresses, each with its own claim, 24h lease and audit record) ` +
      `in ${requests.toLocaleString("en-US")} ${fw ? "HTTP register requests" : "list writes"} ` +
      `(window ${opts.windowMs} ms, at most ${opts.max} per request); ` +
      `${opts.concurrency} × ${opts.batch}-decision batches at once; latency is per batch; ` +
      `CPU (user+sys) ${Math.round((cpu.user + cpu.system) / opts.blocks)} µs a block; ` +
      `load average ${load.toFixed(1)} on ${cpus().length} CPUs at the start; goal ≥ 10,000/s`,
  };
}
