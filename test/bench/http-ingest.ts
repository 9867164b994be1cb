/**
 * Row 4: the ingest service alone (`startServices` with ["ingest"] on KafkaBus, listening on a free port), fed
 * NDJSON bodies by a few concurrent fetch clients in this process.
 */
import { performance } from "node:perf_hooks";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { startServices, type Running } from "../../services/runtime.ts";
import { MemoryProbe, Samples, cpuMeter, every, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface HttpIngestOptions {
  readonly name: string;
  readonly brokers: readonly string[];
  /** NDJSON bodies, sent in turn. */
  readonly bodies: readonly string[];
  readonly bodyLabel: string;
  readonly clients: number;
  readonly requests: number;
  readonly warmupRequests: number;
  readonly timeLimitMs: number;
  readonly prefixes: string[];
}

interface IngestReply {
  accepted?: number;
  normalized?: number;
  dead_lettered?: number;
  error?: { code?: string; message?: string };
}

export async function benchHttpIngest(opts: HttpIngestOptions): Promise<Row> {
  const prefix = `bench-http-${randomBytes(3).toString("hex")}`;
  opts.prefixes.push(prefix);
  const token = `bench-${randomBytes(12).toString("hex")}`;
  const stateDir = await mkdtemp(join(tmpdir(), "riposte-bench-"));
  let running: Running | undefined;
  try {
    const config = loadConfig(
      {
        KAFKA_BROKERS: opts.brokers.join(","),
        RIPOSTE_TOPIC_PREFIX: prefix,
        RIPOSTE_API_HOST: "127.0.0.1",
        RIPOSTE_API_PORT: "0",
        RIPOSTE_API_TOKEN: token,
        RIPOSTE_LOG_LEVEL: "warn",
        RIPOSTE_STATE_DIR: stateDir,
      },
      CONNECTORS,
    );
    running = await startServices({ config, services: ["ingest"], log: silentLogger });
    const url = `${running.url}/v1/alerts/bench`;
    progress(`  http: ingest listening at ${running.url}`);
    const bytes = opts.bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / opts.bodies.length;

    let next = 0;
    const totals = { accepted: 0, normalized: 0, dead: 0, requests: 0 };
    const errors: string[] = [];
    const latency = new Samples();
    const post = async (k: number, record: boolean): Promise<void> => {
      const body = opts.bodies[k % opts.bodies.length] as string;
      const t = performance.now();
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" },
        body,
      });
      const reply = (await res.json()) as IngestReply;
      const ms = performance.now() - t;
      if (res.status !== 202) {
        errors.push(`${res.status} ${reply.error?.code ?? ""} ${reply.error?.message ?? ""}`);
        return;
      }
      if (!record) return;
      latency.add(ms);
      totals.requests++;
      totals.accepted += reply.accepted ?? 0;
      totals.normalized += reply.normalized ?? 0;
      totals.dead += reply.dead_lettered ?? 0;
    };

    progress(`  http: warm-up with ${opts.warmupRequests} requests`);
    for (let k = 0; k < opts.warmupRequests; k++) await post(k, false);
    if (errors.length > 0) throw new Error(`ingest refused the warm-up: ${errors[0]}`);

    progress(`  http: ${opts.requests} requests from ${opts.clients} clients`);
    const memory = new MemoryProbe();
    const stopTicker = every(2000, () =>
      progress(
        `  http: ${totals.requests}/${opts.requests} requests, ${totals.accepted.toLocaleString("en-US")} alerts`,
      ),
    );
    const start = performance.now();
    const cpu = cpuMeter();
    const deadline = start + opts.timeLimitMs;
    const client = async () => {
      while (next < opts.requests && performance.now() < deadline && errors.length === 0) await post(next++, true);
    };
    try {
      await Promise.all(Array.from({ length: opts.clients }, client));
    } finally {
      stopTicker();
    }
    const seconds = (performance.now() - start) / 1000;
    const cpuUsed = cpu();
    const mem = memory.finish();
    if (errors.length > 0) throw new Error(`ingest answered ${errors[0]}`);
    const rate = totals.accepted / seconds;
    return {
      name: opts.name,
      throughput: fmtRate(rate, "alerts"),
      p50: fmtMs(latency.percentile(50)),
      p99: fmtMs(latency.percentile(99)),
      unit: "alerts/s",
      p50Ms: latency.percentile(50),
      p99Ms: latency.percentile(99),
      ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
      memory: mem,
      rate,
      notes:
        `latency per request (202 = durable on Kafka); ${totals.requests} POSTs of ${opts.bodyLabel} ` +
        `(~${(bytes / 1024).toFixed(0)} KB NDJSON) from ${opts.clients} concurrent fetch clients in this process, ` +
        `${seconds.toFixed(1)} s, ${cpuUsed} (server and clients)${totals.requests < opts.requests ? ` (time limit: ${totals.requests} of ${opts.requests})` : ""}; ` +
        `${totals.normalized.toLocaleString("en-US")} normalized, ${totals.dead} dead-lettered; ` +
        `${config.topics.partitions} partitions`,
    };
  } finally {
    await running?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
