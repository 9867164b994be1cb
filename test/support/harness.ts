/**
 * Runs the pipeline for end-to-end tests, either embedded (one process, in-process bus and state) or distributed
 * (each service its own `riposte run <service>` process on real Kafka and Redis), and collects what lands on the
 * decision, action, DLQ and incident topics.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { KafkaBus, type Bus, type Subscription } from "../../services/shared/bus/index.ts";
import { loadConfig, topicNames } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { startServices, type Running } from "../../services/runtime.ts";
import { initTelemetry } from "../../services/shared/telemetry.ts";
import { freePorts, terminate } from "../infra/proc.ts";
import { eventually, requireKafka, requireRedis, uniquePrefix } from "./env.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const TOKEN = "e2e-token-0123456789abcdef";

export interface Harness {
  readonly url: string;
  /** Topic prefix of this run. */
  readonly prefix: string;
  readonly decisions: Array<Record<string, unknown>>;
  readonly actions: Array<Record<string, unknown>>;
  readonly dlq: Array<Record<string, unknown>>;
  readonly normalized: Array<Record<string, unknown>>;
  /** Records of `<prefix>.incidents` with their keys. */
  readonly incidents: Array<{ key: string | null; value: Record<string, unknown> }>;
  post(
    source: string,
    body: string | Buffer,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

type Mode = "embedded" | "distributed";

type Records = Pick<Harness, "decisions" | "actions" | "dlq" | "normalized" | "incidents">;

async function collect(bus: Bus, prefix: string, h: Records): Promise<Subscription> {
  const t = topicNames(prefix);
  const sink = { [t.decisions]: h.decisions, [t.actions]: h.actions, [t.dlq]: h.dlq, [t.normalized]: h.normalized };
  return bus.subscribe({
    groupId: `${prefix}.observer`,
    topics: [t.decisions, t.actions, t.dlq, t.normalized, t.incidents],
    handler: async (batch) => {
      for (const m of batch) {
        const value = JSON.parse(m.value.toString("utf8")) as Record<string, unknown>;
        if (m.topic === t.incidents) h.incidents.push({ key: m.key, value });
        else sink[m.topic]?.push(value);
      }
    },
  });
}

/**
 * Starts the pipeline. `services` limits the distributed mode to some services (default ingest, correlator,
 * executor); the embedded mode always runs all of them.
 */
export async function startHarness(
  mode: Mode,
  connectorUrl: string,
  extraEnv: Record<string, string> = {},
  services: readonly string[] = ["ingest", "correlator", "executor"],
  /** Extra variables for one service only (distributed mode), e.g. a different OTLP protocol per process. */
  serviceEnv: Readonly<Record<string, Record<string, string>>> = {},
): Promise<Harness> {
  const prefix = uniquePrefix(mode);
  const [port] = await freePorts(1);
  const env: Record<string, string> = {
    RIPOSTE_TOPIC_PREFIX: prefix,
    RIPOSTE_TOPIC_PARTITIONS: "3",
    RIPOSTE_API_PORT: String(port),
    RIPOSTE_API_TOKEN: TOKEN,
    RIPOSTE_LOG_LEVEL: "warn",
    RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: connectorUrl,
    RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_ID: "riposte-test-client",
    RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_SECRET: "riposte-test-secret-0123456789",
    ...extraEnv,
  };
  const records: Records = { decisions: [], actions: [], dlq: [], normalized: [], incidents: [] };
  let observerBus: Bus;
  let observer: Subscription;
  let stopAll: () => Promise<void>;

  if (mode === "embedded") {
    initTelemetry({ serviceName: "riposte-e2e" });
    const config = loadConfig({ ...env, RIPOSTE_STATE_DIR: `/tmp/${prefix}` }, CONNECTORS);
    const running: Running = await startServices({
      config,
      services: ["ingest", "correlator", "executor", "api"],
      log: silentLogger,
    });
    observerBus = running.bus;
    observer = await collect(observerBus, prefix, records);
    stopAll = async () => {
      await observer.stop();
      await running.stop();
    };
  } else {
    const brokers = await requireKafka();
    // A test may bring its own Redis (a private Redis Cluster: REDIS_URL with RIPOSTE_REDIS_CLUSTER=true).
    const redisUrl = extraEnv["REDIS_URL"] ?? (await requireRedis());
    const childEnv = { ...process.env, ...env, KAFKA_BROKERS: brokers.join(","), REDIS_URL: redisUrl };
    const children: ChildProcess[] = [];
    const output: string[] = [];
    // "correlator#2" runs a second correlator process (its own serviceEnv entry, e.g. another port for ingest#2).
    for (const entry of services) {
      const svc = entry.split("#")[0] as string;
      const child = spawn(process.execPath, ["bin/riposte.js", "run", svc], {
        cwd: ROOT,
        env: { ...childEnv, ...serviceEnv[svc], ...serviceEnv[entry] },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (d: Buffer) => output.push(`[${entry}] ${d.toString()}`));
      child.stderr?.on("data", (d: Buffer) => output.push(`[${entry}] ${d.toString()}`));
      children.push(child);
    }
    try {
      await eventually(
        async () => {
          const dead = children.find((c) => c.exitCode !== null);
          if (dead) throw new Error(`a service exited during start:\n${output.join("")}`);
          return fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
        },
        "the ingest service to answer /healthz",
        60_000,
      );
    } catch (e) {
      await Promise.all(children.map((c) => terminate(c, 5_000)));
      throw e;
    }
    observerBus = new KafkaBus({ brokers, clientId: "e2e-observer", log: silentLogger });
    observer = await collect(observerBus, prefix, records);
    stopAll = async () => {
      await observer.stop();
      await observerBus.close();
      await Promise.all(children.map((c) => terminate(c, 10_000)));
    };
  }

  return {
    url: `http://127.0.0.1:${port}`,
    prefix,
    ...records,
    async post(source, body, headers = {}) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/alerts/${source}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    stop: () => stopAll(),
  };
}
