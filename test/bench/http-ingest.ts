/**
 * Row 4: the ingest service alone (`startServices` with ["ingest"] on KafkaBus, listening on a free port), fed
 * NDJSON bodies by a few concurrent fetch clients in a child process (http-clients.ts): the clients' work runs on
 * another core, and the CPU figure is the server process's alone.
 */
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { startServices, type Running } from "../../services/runtime.ts";
import type { ClientMessage, ClientPlan, ClientResult } from "./http-clients.ts";
import { MemoryProbe, Samples, cpuMeter, fmtMs, fmtRate, progress, type Row } from "./report.ts";

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

    progress(`  http: warm-up with ${opts.warmupRequests} requests`);
    const clients = await startClients({
      url,
      token,
      bodies: opts.bodies,
      clients: opts.clients,
      requests: opts.requests,
      warmupRequests: opts.warmupRequests,
      timeLimitMs: opts.timeLimitMs,
    });
    progress(`  http: ${opts.requests} requests from ${opts.clients} clients in a child process`);
    const memory = new MemoryProbe();
    const cpu = cpuMeter();
    const result = await clients.run((requests, accepted) =>
      progress(`  http: ${requests}/${opts.requests} requests, ${accepted.toLocaleString("en-US")} alerts`),
    );
    const cpuUsed = cpu();
    const mem = memory.finish();
    if (result.errors.length > 0) throw new Error(`ingest answered ${result.errors[0]}`);
    const latency = new Samples();
    for (const ms of result.latencies) latency.add(ms);
    const totals = result;
    const seconds = result.seconds;
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
        `(~${(bytes / 1024).toFixed(0)} KB NDJSON) from ${opts.clients} concurrent fetch clients in a child process, ` +
        `${seconds.toFixed(1)} s, ${cpuUsed} (server process only)${totals.requests < opts.requests ? ` (time limit: ${totals.requests} of ${opts.requests})` : ""}; ` +
        `${totals.normalized.toLocaleString("en-US")} normalized, ${totals.dead} dead-lettered; ` +
        `${config.topics.partitions} partitions`,
    };
  } finally {
    await running?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const CLIENTS = new URL("./http-clients.ts", import.meta.url);

interface Clients {
  /** Sends the measured requests (the warm-up is done) and resolves with the child's totals. */
  run(onProgress: (requests: number, accepted: number) => void): Promise<ClientResult>;
}

/** Forks the client process, hands it the plan and resolves once its warm-up is done. */
async function startClients(plan: ClientPlan): Promise<Clients> {
  const child = fork(CLIENTS, ["--bench-http-clients"], { execArgv: process.execArgv, stdio: "inherit" });
  let listener: ((m: ClientMessage) => void) | undefined;
  let failure: ((e: Error) => void) | undefined;
  child.on("message", (m: ClientMessage) => listener?.(m));
  child.on("exit", (code) => failure?.(new Error(`the http client process exited (${code}) before its result`)));
  const next = <T>(accept: (m: ClientMessage, resolve: (t: T) => void, reject: (e: Error) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      failure = reject;
      listener = (m) => (m.kind === "failed" ? reject(new Error(m.error)) : accept(m, resolve, reject));
    });
  const warm = next<void>((m, resolve, reject) => {
    if (m.kind !== "warm") return;
    if (m.error === undefined) resolve();
    else reject(new Error(`ingest refused the warm-up: ${m.error}`));
  });
  child.send(plan);
  try {
    await warm;
  } catch (e) {
    child.kill();
    throw e;
  }
  return {
    run: async (onProgress) => {
      const done = next<ClientResult>((m, resolve) => {
        if (m.kind === "progress") onProgress(m.requests, m.accepted);
        else if (m.kind === "done") resolve(m.result);
      });
      child.send("go");
      try {
        return await done;
      } finally {
        failure = undefined;
        child.kill();
      }
    },
  };
}
