/**
 * `npm run bench`: throughput, latency and memory of Riposte's stages, each next to a baseline measured in the
 * same run. Prints progress on stderr and the result table (markdown) on stdout.
 *
 * Kafka: KAFKA_BROKERS, or a broker started here with test/infra/kafka.ts. Redis: REDIS_URL, or redis-server
 * started here. The corpus (../shared/corpus) is read at run time; rows that need it say so when it is missing.
 * The CPU-only rows run first, before the broker starts, so that they measure a quiet machine.
 * Every row has a stable id (ROWS); BENCH_ONLY=rules.,normalize runs the rows whose id starts with one of those
 * prefixes; `npm run bench -- --json FILE` also writes the rows as JSON
 * (`[{id, name, rate, unit, p50_ms, p99_ms, rss_mb, notes}]`, null where a row has no figure).
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import type { NormalizedEvent } from "../../schemas/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { initTelemetry, shutdownTelemetry } from "../../services/shared/telemetry.ts";
import { startKafka, type RunningKafka } from "../infra/kafka.ts";
import { startRedis, type RunningRedis } from "../infra/redis.ts";
import { loadLists } from "../../services/correlator/load.ts";
import { corpusBodies, loadCorpusMix, normalizeLine, suricataAlert } from "./alerts.ts";
import { benchCorrelate } from "./correlate.ts";
import { benchHttpIngest } from "./http-ingest.ts";
import { benchIpBlocks } from "./ip-blocks.ts";
import { benchKafkaPassThrough } from "./kafka-passthrough.ts";
import { benchBrokerPerf } from "./kafka-tools.ts";
import { benchNormalize } from "./normalize.ts";
import { benchPipeline } from "./pipeline.ts";
import { benchPlaybooks } from "./playbooks.ts";
import { elapsedSeconds, failedRow, jsonRow, progress, ratio, skippedRow, table, type Row } from "./report.ts";
import { benchRules } from "./rules.ts";
import { benchTrace } from "./trace.ts";

/** Row ids (a contract: other tools read them from `--json`) and names, in table order. */
const ROWS = {
  "kafka.broker_produce": "Kafka broker: ProducerPerformance (JVM, acks=all)",
  "kafka.broker_consume": "Kafka broker: ConsumerPerformance (JVM)",
  "kafka.passthrough.kafkajs": "kafka pass-through (kafkajs consume→produce, no processing)",
  "kafka.passthrough.platformatic": "kafka pass-through (@platformatic/kafka consume→produce, no processing)",
  "e2e.embedded": "thin path end to end (embedded)",
  "e2e.distributed": "thin path end to end (Kafka + Redis, default client: platformatic)",
  "e2e.distributed.kafkajs": "thin path end to end (Kafka + Redis, RIPOSTE_KAFKA_CLIENT=kafkajs)",
  "trace.off": "thin path embedded, tracing off (propagated, not exported)",
  "trace.on": "thin path embedded, tracing at 100 % exported over OTLP",
  "ingest.http": "HTTP ingest → Kafka",
  normalize: "normalize alone (mix of corpus formats)",
  "rules.jre.30": "rules: json-rules-engine, 30 rules",
  "rules.riposte.30": "rules: Riposte compiled, 30 rules",
  "rules.jre.300": "rules: json-rules-engine, 300 rules",
  "rules.riposte.300": "rules: Riposte compiled, 300 rules",
  "rules.riposte.3000": "rules: Riposte compiled, 3,000 rules",
  "correlate.redis": "correlator on Redis state (shipped rules)",
  playbooks: "playbook runs: 4-step graph against local vendor fakes over HTTP (embedded state)",
  ip_blocks: "coalesced IP blocks through the executor into the EDL",
  "ip_blocks.http": "coalesced IP blocks through the executor to an HTTP firewall (User-ID fake)",
} as const;
type Id = keyof typeof ROWS;
const IDS = Object.keys(ROWS) as Id[];
/** BENCH_ONLY=rules.,normalize: the rows whose id starts with one of the prefixes; `e2e.distributed$`: that id only. */
const only = (process.env["BENCH_ONLY"] ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const wanted = (id: Id) =>
  only.length === 0 || only.some((p) => (p.endsWith("$") ? id === p.slice(0, -1) : id.startsWith(p)));
/** `npm run bench -- --json FILE`: the rows as JSON too. */
const jsonIndex = process.argv.indexOf("--json");
const jsonFile = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;
if (jsonIndex >= 0 && !jsonFile) throw new Error("--json needs a file name");

const results = new Map<Id, Row>();
const isId = (x: string | undefined): x is Id => x !== undefined && x in ROWS;

/** Runs a measurement giving the rows `ids`; a throw fails them all. */
async function measure(ids: Id | readonly Id[], run: () => Promise<Row | Row[]>): Promise<void> {
  const mine = (Array.isArray(ids) ? ids : [ids]) as Id[];
  if (!mine.some(wanted)) return;
  const label = mine.join(", ");
  progress(`${label}: starting`);
  const t = performance.now();
  try {
    const out = await run();
    for (const row of Array.isArray(out) ? out : [out]) {
      const id = isId(row.id) ? row.id : (mine[0] as Id);
      if (wanted(id)) results.set(id, { ...row, id, name: ROWS[id] });
    }
    progress(`${label}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    progress(`${label}: FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    for (const id of mine) if (wanted(id)) results.set(id, { ...failedRow(ROWS[id], e), id });
    process.exitCode = 1;
  }
}

/** Adds the comparisons with the baselines of this run to the notes. */
function compare(): void {
  const rate = (k: Id) => results.get(k)?.rate;
  const prepend = (k: Id, text: string) => {
    const row = results.get(k);
    if (row?.rate !== undefined) results.set(k, { ...row, notes: `${text}; ${row.notes}` });
  };
  prepend("e2e.embedded", `${ratio(rate("e2e.embedded"), rate("e2e.distributed"))} the Kafka + Redis rate`);
  prepend(
    "e2e.distributed",
    `${ratio(rate("e2e.distributed"), rate("kafka.passthrough.platformatic"))} its client's pass-through msg/s, ` +
      `${ratio(rate("e2e.distributed"), rate("e2e.embedded"))} embedded`,
  );
  prepend(
    "kafka.passthrough.platformatic",
    `${ratio(rate("kafka.passthrough.platformatic"), rate("kafka.passthrough.kafkajs"))} kafkajs pass-through`,
  );
  prepend(
    "e2e.distributed.kafkajs",
    `${ratio(rate("e2e.distributed.kafkajs"), rate("kafka.passthrough.kafkajs"))} its client's pass-through, ` +
      `${ratio(rate("e2e.distributed.kafkajs"), rate("e2e.distributed"))} the default client's rate`,
  );
  prepend(
    "ingest.http",
    `${ratio(rate("ingest.http"), rate("normalize"))} normalize alone, ` +
      `${ratio(rate("ingest.http"), rate("kafka.passthrough.platformatic"))} the pass-through msg/s`,
  );
}

async function main(): Promise<void> {
  const wall = performance.now();
  progress(`Riposte bench: node ${process.version}, ${cpus().length} CPUs, pid ${process.pid}`);
  // As `riposte run` does: spans are created and propagated (no exporter unless OTEL_EXPORTER_OTLP_ENDPOINT).
  initTelemetry({ serviceName: "riposte-bench" });

  const corpus = loadCorpusMix();
  if (corpus.ok) {
    progress(
      `corpus: ${corpus.mix.distinct} events that normalize, ${corpus.mix.formats.length} formats ` +
        `(${corpus.mix.formats.join(", ")}), from ${corpus.mix.files} files`,
    );
  } else progress(`corpus: ${corpus.reason}`);

  // What the Kafka rows create, deleted at the end when the broker / Redis are not ours to throw away.
  const kafkaTopics: string[] = [];
  const pipelinePrefixes: string[] = [];
  const redisPrefixes: string[] = [];
  const httpPrefixes: string[] = [];
  let kafka: RunningKafka | undefined;
  let redis: RunningRedis | undefined;
  let brokers: string[] | undefined;
  let redisUrl: string | undefined;
  let infraError: unknown;

  try {
    // 1. CPU-only rows, before any broker runs.
    if (!wanted("normalize")) {
      // not selected
    } else if (corpus.ok) {
      await measure("normalize", () =>
        benchNormalize(corpus.mix, { name: ROWS.normalize, bodySize: 100, maxEvents: 250_000, timeLimitMs: 10_000 }),
      );
    } else {
      results.set("normalize", { ...skippedRow(ROWS.normalize, `skipped: ${corpus.reason}`), id: "normalize" });
      progress(`${ROWS.normalize}: skipped (${corpus.reason})`);
    }

    const ruleIds = IDS.filter((id) => id.startsWith("rules."));
    await measure(ruleIds, async () => {
      const events: NormalizedEvent[] = [];
      if (corpus.ok) {
        for (const lines of corpus.mix.byFormat.values())
          for (const l of lines) {
            const e = normalizeLine(l);
            if (e) events.push(e);
          }
      } else {
        for (let i = 0; i < 400; i++) {
          const e = normalizeLine(suricataAlert(i, Date.now()).line);
          if (e) events.push(e);
        }
      }
      const sources = corpus.ok
        ? `the corpus mix, ${corpus.mix.formats.length} formats`
        : `synthetic Suricata only: ${corpus.reason}`;
      const sizes = [30, 300, 3000].filter((n) => ruleIds.some((id) => id.endsWith(`.${n}`) && wanted(id)));
      return benchRules(events, sources, await loadLists("rules"), {
        sizes,
        fullReferenceUpTo: 300,
        referenceSample: 25,
        jreSeconds: 8,
        riposteSeconds: 6,
        seed: 42,
        row: (engine, size) => {
          const id = `rules.${engine}.${size}`;
          return { id, name: isId(id) ? ROWS[id] : id };
        },
      });
    });

    await measure("playbooks", () =>
      benchPlaybooks({ id: "playbooks", name: ROWS.playbooks, seconds: 8, concurrency: 64, hosts: 500 }),
    );
    // Coalesced IP blocks: the executor alone, in-process bus and state, before any broker runs.
    for (const target of ["edl", "http"] as const) {
      const id: Id = target === "edl" ? "ip_blocks" : "ip_blocks.http";
      await measure(id, () =>
        benchIpBlocks({
          name: ROWS[id],
          target,
          blocks: 100_000,
          batch: 500,
          concurrency: 8,
          windowMs: 200,
          max: 500,
        }),
      );
    }

    // 2. Embedded pipeline (in-process bus and state).
    await measure("e2e.embedded", () =>
      benchPipeline({
        name: ROWS["e2e.embedded"],
        tag: "embedded",
        env: {},
        warmup: 500,
        alerts: 30_000,
        batch: 100,
        window: 2_000,
        concurrency: 4,
        timeLimitMs: 30_000,
        latencyPhaseMs: 5_000,
        actionGraceMs: 15_000,
        prefixes: [],
      }),
    );

    // The same embedded path with tracing off and at 100 % sampling exported, each run in a process of its own.
    await measure(["trace.off", "trace.on"], () =>
      benchTrace({
        names: { off: ROWS["trace.off"], on: ROWS["trace.on"] },
        rounds: 2,
        run: {
          warmup: 500,
          alerts: 20_000,
          batch: 100,
          window: 2_000,
          concurrency: 4,
          timeLimitMs: 20_000,
          latencyPhaseMs: 3_000,
          actionGraceMs: 15_000,
        },
      }),
    );

    // 3. Infrastructure, then the rows on Kafka.
    const kafkaRows = (
      [
        "kafka.broker_produce",
        "kafka.broker_consume",
        "kafka.passthrough.kafkajs",
        "kafka.passthrough.platformatic",
        "e2e.distributed",
        "e2e.distributed.kafkajs",
        "ingest.http",
      ] as const
    ).some(wanted);
    if (kafkaRows) {
      try {
        if (process.env["KAFKA_BROKERS"]) {
          brokers = process.env["KAFKA_BROKERS"].split(",").map((b) => b.trim());
          progress(`Kafka: using KAFKA_BROKERS=${brokers.join(",")}`);
        } else {
          progress("Kafka: KAFKA_BROKERS not set, starting a broker (test/infra/kafka.ts)");
          kafka = await startKafka({ log: (l) => progress(`Kafka: ${l}`) });
          brokers = [kafka.brokers];
        }
        if (process.env["REDIS_URL"]) {
          redisUrl = process.env["REDIS_URL"];
          progress(`Redis: using REDIS_URL=${redisUrl}`);
        } else {
          redis = await startRedis();
          redisUrl = redis.url;
          progress(`Redis: started at ${redisUrl}`);
        }
      } catch (e) {
        infraError = e;
        progress(`infrastructure: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (wanted("correlate.redis") && !redisUrl && !infraError) {
      try {
        if (process.env["REDIS_URL"]) redisUrl = process.env["REDIS_URL"];
        else {
          redis = await startRedis();
          redisUrl = redis.url;
        }
        progress(`Redis: ${redis ? "started at" : "using REDIS_URL="}${redisUrl}`);
      } catch (e) {
        infraError = e;
        progress(`infrastructure: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const needs = async (key: Id, needsRedis: boolean, run: (b: string[]) => Promise<Row>): Promise<void> => {
      const b = brokers;
      if (!wanted(key)) return;
      if (b && (!needsRedis || redisUrl)) await measure(key, () => run(b));
      else results.set(key, { ...failedRow(ROWS[key], infraError ?? new Error("no Kafka / Redis")), id: key });
    };

    const brokerIds = ["kafka.broker_produce", "kafka.broker_consume"] as const;
    if (brokerIds.some(wanted)) {
      const b = brokers;
      if (b)
        await measure([...brokerIds], () =>
          benchBrokerPerf({
            brokers: b,
            records: 300_000,
            recordBytes: 1024,
            partitions: 6,
            timeLimitMs: 120_000,
            created: kafkaTopics,
            row: (which) => {
              const id = which === "produce" ? "kafka.broker_produce" : "kafka.broker_consume";
              return { id, name: ROWS[id] };
            },
          }),
        );
      else
        for (const id of brokerIds)
          if (wanted(id)) results.set(id, { ...failedRow(ROWS[id], infraError ?? new Error("no Kafka")), id });
    }
    await needs("kafka.passthrough.kafkajs", false, (b) =>
      benchKafkaPassThrough({
        name: ROWS["kafka.passthrough.kafkajs"],
        brokers: b,
        messages: 150_000,
        messageBytes: 1024,
        partitions: 6,
        maxBatch: 500,
        timeLimitMs: 60_000,
        created: kafkaTopics,
      }),
    );
    await needs("kafka.passthrough.platformatic", false, (b) =>
      benchKafkaPassThrough({
        name: ROWS["kafka.passthrough.platformatic"],
        client: "platformatic",
        brokers: b,
        messages: 150_000,
        messageBytes: 1024,
        partitions: 6,
        maxBatch: 500,
        timeLimitMs: 60_000,
        created: kafkaTopics,
      }),
    );
    await needs("e2e.distributed", true, (b) =>
      benchPipeline({
        name: ROWS["e2e.distributed"],
        tag: "kafka",
        env: { KAFKA_BROKERS: b.join(","), REDIS_URL: redisUrl as string },
        warmup: 200,
        alerts: 15_000,
        batch: 100,
        window: 2_000,
        concurrency: 4,
        timeLimitMs: 40_000,
        latencyPhaseMs: 5_000,
        actionGraceMs: 15_000,
        prefixes: pipelinePrefixes,
      }),
    );
    await needs("e2e.distributed.kafkajs", true, (b) =>
      benchPipeline({
        name: ROWS["e2e.distributed.kafkajs"],
        tag: "kafka-kjs",
        env: { KAFKA_BROKERS: b.join(","), REDIS_URL: redisUrl as string, RIPOSTE_KAFKA_CLIENT: "kafkajs" },
        warmup: 200,
        alerts: 15_000,
        batch: 100,
        window: 2_000,
        concurrency: 4,
        timeLimitMs: 40_000,
        latencyPhaseMs: 5_000,
        actionGraceMs: 15_000,
        prefixes: pipelinePrefixes,
      }),
    );
    await needs("ingest.http", false, (b) => {
      const label = corpus.ok
        ? `100 alerts of ${corpus.mix.formats.length} corpus formats, round-robin`
        : `100 synthetic Suricata alerts (corpus missing: ${corpus.reason})`;
      const bodies = corpus.ok
        ? corpusBodies(corpus.mix, 30, 100)
        : Array.from(
            { length: 30 },
            (_, k) =>
              Array.from({ length: 100 }, (_u, j) => suricataAlert(k * 100 + j, Date.now()).line).join("\n") + "\n",
          );
      return benchHttpIngest({
        name: ROWS["ingest.http"],
        brokers: b,
        bodies,
        bodyLabel: label,
        clients: 4,
        requests: 300,
        warmupRequests: 10,
        timeLimitMs: 30_000,
        prefixes: httpPrefixes,
      });
    });
    const url = redisUrl;
    if (!wanted("correlate.redis")) {
      // not selected
    } else if (url && corpus.ok) {
      const prefix = `bench-correlate-${process.pid}-${Date.now()}`;
      redisPrefixes.push(prefix);
      const events: NormalizedEvent[] = [];
      for (const lines of corpus.mix.byFormat.values())
        for (const l of lines) {
          const e = normalizeLine(l);
          if (e) events.push(e);
        }
      await measure("correlate.redis", () =>
        benchCorrelate({
          id: "correlate.redis",
          name: ROWS["correlate.redis"],
          redisUrl: url,
          rulesDir: "rules",
          events,
          seconds: 10,
          concurrency: 16,
          prefix,
        }),
      );
    } else {
      const why = !corpus.ok ? corpus.reason : infraError instanceof Error ? infraError.message : "no Redis";
      results.set("correlate.redis", {
        ...skippedRow(ROWS["correlate.redis"], `skipped: ${why}`),
        id: "correlate.redis",
      });
    }
  } finally {
    progress("cleaning up");
    const prefixes = [...pipelinePrefixes, ...httpPrefixes];
    if (brokers && !kafka && kafkaTopics.length + prefixes.length > 0) {
      await deleteTopics(brokers, [...kafkaTopics, ...prefixes.flatMap((p) => Object.values(topicNames(p)))]);
    }
    const keyPrefixes = [...pipelinePrefixes, ...redisPrefixes];
    if (redisUrl && !redis && keyPrefixes.length > 0) await deleteKeys(redisUrl, keyPrefixes);
    await Promise.allSettled([kafka?.stop(), redis?.stop()]);
    await shutdownTelemetry();
  }

  compare();
  const rows = IDS.filter(wanted).map((id) => results.get(id) ?? { ...skippedRow(ROWS[id], "did not run"), id });
  if (jsonFile) {
    writeFileSync(jsonFile, `${JSON.stringify(rows.map(jsonRow), null, 2)}\n`);
    progress(`wrote ${rows.length} rows to ${jsonFile}`);
  }
  const seconds = (performance.now() - wall) / 1000;
  process.stdout.write(`${table(rows)}\n\n`);
  process.stdout.write(
    `Total wall time ${seconds.toFixed(0)} s (execution order: CPU-only rows first, then embedded, then Kafka rows; ` +
      `Kafka ${kafka ? "started by the bench" : brokers ? "from KAFKA_BROKERS" : "not used"}, ` +
      `Redis ${redis ? "started by the bench" : redisUrl ? "from REDIS_URL" : "not used"}). ` +
      `Memory: peak RSS of this process during the row (Δ from its start) / heap used after full GC, end − start; ` +
      `broker and redis-server memory not included.\n`,
  );
  progress(`finished in ${elapsedSeconds().toFixed(1)} s`);
}

async function deleteTopics(brokers: readonly string[], topics: readonly string[]): Promise<void> {
  const admin = new Kafka({ clientId: "riposte-bench", brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    progress(`deleted ${mine.length} bench topics from ${brokers.join(",")}`);
  } catch (e) {
    progress(`could not delete the bench topics: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function deleteKeys(url: string, prefixes: readonly string[]): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let deleted = 0;
    for (const p of prefixes) {
      let cursor = "0";
      do {
        const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${p}:*`, "COUNT", 1000);
        cursor = nextCursor;
        if (keys.length > 0) deleted += await redis.del(...keys);
      } while (cursor !== "0");
    }
    progress(`deleted ${deleted} bench keys from ${url}`);
  } catch (e) {
    progress(`could not delete the bench keys: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    redis.disconnect();
  }
}

await main();
