/**
 * `npm run bench`: throughput, latency and memory of Riposte's stages, each next to a baseline measured in the
 * same run. Prints progress on stderr and the result table (markdown) on stdout.
 *
 * Kafka: KAFKA_BROKERS, or a broker started here with test/infra/kafka.ts. Redis: REDIS_URL, or redis-server
 * started here. The corpus (../shared/corpus) is read at run time; rows that need it say so when it is missing.
 * The CPU-only rows run first, before the broker starts, so that they measure a quiet machine.
 * BENCH_ONLY=2,5 runs only those rows (numbers as in the table; 6 is both rule rows).
 */
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import type { NormalizedEvent } from "../../schemas/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { initTelemetry, shutdownTelemetry } from "../../services/shared/telemetry.ts";
import { startKafka, type RunningKafka } from "../infra/kafka.ts";
import { startRedis, type RunningRedis } from "../infra/redis.ts";
import { corpusBodies, loadCorpusMix, normalizeLine, suricataAlert } from "./alerts.ts";
import { benchHttpIngest } from "./http-ingest.ts";
import { benchKafkaPassThrough } from "./kafka-passthrough.ts";
import { benchNormalize } from "./normalize.ts";
import { benchPipeline } from "./pipeline.ts";
import { elapsedSeconds, failedRow, progress, ratio, skippedRow, table, type Row } from "./report.ts";
import { benchRules } from "./rules.ts";

const ROWS = {
  passThrough: "kafka pass-through (kafkajs consume→produce, no processing)",
  embedded: "thin path end to end (embedded)",
  distributed: "thin path end to end (Kafka + Redis)",
  http: "HTTP ingest → Kafka",
  normalize: "normalize alone (mix of corpus formats)",
  jre: "rules: json-rules-engine as is",
  ruleSet: "rules: Riposte RuleSet",
} as const;
type Key = keyof typeof ROWS;
const NUMBER: Record<Key, string> = {
  passThrough: "1",
  embedded: "2",
  distributed: "3",
  http: "4",
  normalize: "5",
  jre: "6",
  ruleSet: "6",
};
const only = new Set(
  (process.env["BENCH_ONLY"] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
const wanted = (key: Key) => only.size === 0 || only.has(NUMBER[key]);

const results = new Map<Key, Row>();

async function measure(key: Key, run: () => Promise<Row | Row[]>): Promise<void> {
  const name = ROWS[key];
  if (!wanted(key)) return;
  progress(`${name}: starting`);
  const t = performance.now();
  try {
    const out = await run();
    for (const row of Array.isArray(out) ? out : [out]) {
      const k = (Object.keys(ROWS) as Key[]).find((x) => ROWS[x] === row.name) ?? key;
      results.set(k, row);
    }
    progress(`${name}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    progress(`${name}: FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    results.set(key, failedRow(name, e));
    process.exitCode = 1;
  }
}

/** Adds the comparisons with the baselines of this run to the notes. */
function compare(): void {
  const rate = (k: Key) => results.get(k)?.rate;
  const prepend = (k: Key, text: string) => {
    const row = results.get(k);
    if (row?.rate !== undefined) results.set(k, { ...row, notes: `${text}; ${row.notes}` });
  };
  prepend("embedded", `${ratio(rate("embedded"), rate("distributed"))} the Kafka + Redis rate (row 3)`);
  prepend(
    "distributed",
    `${ratio(rate("distributed"), rate("passThrough"))} the pass-through msg/s (row 1), ` +
      `${ratio(rate("distributed"), rate("embedded"))} embedded (row 2)`,
  );
  prepend(
    "http",
    `${ratio(rate("http"), rate("normalize"))} normalize alone (row 5), ` +
      `${ratio(rate("http"), rate("passThrough"))} the pass-through msg/s (row 1)`,
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
      results.set("normalize", skippedRow(ROWS.normalize, `skipped: ${corpus.reason}`));
      progress(`${ROWS.normalize}: skipped (${corpus.reason})`);
    }

    await measure("jre", async () => {
      const events: NormalizedEvent[] = [];
      if (corpus.ok) {
        for (const lines of corpus.mix.byFormat.values())
          for (const l of lines) {
            const e = normalizeLine(l);
            if (e) events.push(e);
          }
      }
      const corpusCount = events.length;
      for (let i = 0; i < 400; i++) {
        const e = normalizeLine(suricataAlert(i, Date.now()).line);
        if (e) events.push(e);
      }
      const sources = corpus.ok
        ? `${corpusCount} corpus + ${events.length - corpusCount} synthetic Suricata`
        : `${events.length} synthetic Suricata only: ${corpus.reason}`;
      return benchRules(events, sources, {
        rulesDir: "rules",
        perRound: 20_000,
        rounds: 4,
        baselineName: ROWS.jre,
        name: ROWS.ruleSet,
      });
    });

    // 2. Embedded pipeline (in-process bus and state).
    await measure("embedded", () =>
      benchPipeline({
        name: ROWS.embedded,
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

    // 3. Infrastructure, then the rows on Kafka.
    const kafkaRows = (["passThrough", "distributed", "http"] as const).some(wanted);
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
    const needs = async (key: Key, needsRedis: boolean, run: (b: string[]) => Promise<Row>): Promise<void> => {
      const b = brokers;
      if (!wanted(key)) return;
      if (b && (!needsRedis || redisUrl)) await measure(key, () => run(b));
      else results.set(key, failedRow(ROWS[key], infraError ?? new Error("no Kafka / Redis")));
    };

    await needs("passThrough", false, (b) =>
      benchKafkaPassThrough({
        name: ROWS.passThrough,
        brokers: b,
        messages: 150_000,
        messageBytes: 1024,
        partitions: 6,
        maxBatch: 500,
        timeLimitMs: 60_000,
        created: kafkaTopics,
      }),
    );
    await needs("distributed", true, (b) =>
      benchPipeline({
        name: ROWS.distributed,
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
    await needs("http", false, (b) => {
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
        name: ROWS.http,
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
  } finally {
    progress("cleaning up");
    const prefixes = [...pipelinePrefixes, ...httpPrefixes];
    if (brokers && !kafka && kafkaTopics.length + prefixes.length > 0) {
      await deleteTopics(brokers, [...kafkaTopics, ...prefixes.flatMap((p) => Object.values(topicNames(p)))]);
    }
    if (redisUrl && !redis && pipelinePrefixes.length > 0) await deleteKeys(redisUrl, pipelinePrefixes);
    await Promise.allSettled([kafka?.stop(), redis?.stop()]);
    await shutdownTelemetry();
  }

  compare();
  const rows = (Object.keys(ROWS) as Key[]).map(
    (k) =>
      results.get(k) ?? skippedRow(ROWS[k], wanted(k) ? "did not run" : `not in BENCH_ONLY=${[...only].join(",")}`),
  );
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
