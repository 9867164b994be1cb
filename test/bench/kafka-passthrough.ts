/**
 * Row 1, the Kafka baseline: kafkajs alone, no Riposte code. N ~1 KB messages are produced to a topic first; then
 * a consumer (eachBatch, configured like KafkaBus) produces each batch to a second topic with acks=-1 through an
 * idempotent producer (like KafkaBus) and commits, and we time how fast it drains the backlog.
 */
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Message } from "kafkajs";
import { MemoryProbe, Samples, cpuMeter, every, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface PassThroughOptions {
  readonly name: string;
  readonly brokers: readonly string[];
  readonly messages: number;
  readonly messageBytes: number;
  readonly partitions: number;
  /** Largest chunk handled (produced + committed) at once, as KafkaBus's maxBatch. */
  readonly maxBatch: number;
  readonly timeLimitMs: number;
  /** Topics created, for cleanup on a broker we did not start. */
  readonly created: string[];
}

export async function benchKafkaPassThrough(opts: PassThroughOptions): Promise<Row> {
  const tag = randomBytes(3).toString("hex");
  const src = `bench-${tag}.passthrough.in`;
  const dst = `bench-${tag}.passthrough.out`;
  const kafka = new Kafka({
    clientId: "riposte-bench",
    brokers: [...opts.brokers],
    logLevel: logLevel.ERROR,
    logCreator:
      () =>
      ({ log }) =>
        progress(`  kafkajs: ${log.message}${typeof log["error"] === "string" ? `: ${log["error"]}` : ""} (retried)`),
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  const loader = kafka.producer({ allowAutoTopicCreation: false });
  const forwarder = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({
    groupId: `bench-${tag}.passthrough`,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 100,
  });
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [src, dst].map((topic) => ({ topic, numPartitions: opts.partitions, replicationFactor: 1 })),
    });
    opts.created.push(src, dst);

    // Load the backlog: ~1 KB JSON values, keyed so they spread over the partitions.
    await loader.connect();
    const pad = randomBytes(opts.messageBytes)
      .toString("base64")
      .slice(0, opts.messageBytes - 80);
    const loadStart = performance.now();
    const chunk = 1000;
    for (let i = 0; i < opts.messages; i += chunk) {
      const messages: Message[] = [];
      for (let j = i; j < Math.min(opts.messages, i + chunk); j++) {
        messages.push({ key: `entity-${j % 997}`, value: JSON.stringify({ seq: j, time: Date.now(), pad }) });
      }
      await loader.send({ topic: src, acks: -1, messages });
      if ((i / chunk) % 10 === 9) progress(`  pass-through: loaded ${(i + chunk).toLocaleString("en-US")} messages`);
    }
    const loadRate = opts.messages / ((performance.now() - loadStart) / 1000);
    progress(
      `  pass-through: loaded ${opts.messages.toLocaleString("en-US")} in backlog (${fmtRate(loadRate, "msg")})`,
    );

    await forwarder.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [src], fromBeginning: true });
    const memory = new MemoryProbe();
    const perChunk = new Samples();
    let processed = 0;
    let chunks = 0;
    let first = 0;
    let last = 0;
    let cpu = cpuMeter();
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolveDone = r));
    const stopTicker = every(2000, () => progress(`  pass-through: ${processed.toLocaleString("en-US")} forwarded`));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (first === 0) {
          first = performance.now();
          cpu = cpuMeter();
        }
        for (let i = 0; i < batch.messages.length; i += opts.maxBatch) {
          if (!payload.isRunning() || payload.isStale()) return;
          const part = batch.messages.slice(i, i + opts.maxBatch);
          const t = performance.now();
          await forwarder.send({
            topic: dst,
            acks: -1,
            messages: part.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} })),
          });
          const lastOffset = part[part.length - 1]?.offset as string;
          payload.resolveOffset(lastOffset);
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() },
          ]);
          await payload.heartbeat();
          perChunk.add(performance.now() - t);
          processed += part.length;
          chunks++;
          if (processed >= opts.messages) {
            last = performance.now();
            resolveDone();
          }
        }
      },
    });
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), opts.timeLimitMs).unref()),
    ]);
    stopTicker();
    const cpuUsed = cpu();
    if (timedOut) last = performance.now();
    const mem = memory.finish();
    const seconds = (last - first) / 1000;
    const rate = processed / seconds;
    return {
      name: opts.name,
      throughput: fmtRate(rate, "msg"),
      p50: fmtMs(perChunk.percentile(50)),
      p99: fmtMs(perChunk.percentile(99)),
      unit: "msg/s",
      p50Ms: perChunk.percentile(50),
      p99Ms: perChunk.percentile(99),
      ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
      memory: mem,
      rate,
      notes:
        `latency per chunk (produce acks=-1 + commit, ≤${opts.maxBatch} msgs, avg ${(processed / chunks).toFixed(0)}); ` +
        `${processed.toLocaleString("en-US")} × ${opts.messageBytes} B` +
        `${timedOut ? ` (time limit hit: ${processed} of ${opts.messages})` : ""} in ${seconds.toFixed(1)} s from the first batch, ${cpuUsed}; ` +
        `${opts.partitions} partitions, 4 consumed concurrently, idempotent producer, maxInFlightRequests 1; ` +
        `backlog loaded at ${fmtRate(loadRate, "msg")}`,
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await forwarder.disconnect().catch(() => undefined);
    await loader.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
