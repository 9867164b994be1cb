/**
 * The Kafka baseline: a client alone, no Riposte code. N ~1 KB messages are produced to a topic first; then a
 * consumer produces each batch to a second topic with acks=-1 through an idempotent producer and commits, and we
 * time how fast it drains the backlog. `client` picks the library: kafkajs (eachBatch, configured like KafkaBus) or
 * @platformatic/kafka (a message stream cut into per-partition chunks, configured like PlatformaticBus).
 */
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Message } from "kafkajs";
import { Consumer as PltConsumer, Producer as PltProducer, compatibilityPartitioner } from "@platformatic/kafka";
import { MemoryProbe, Samples, cpuMeter, every, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface PassThroughOptions {
  readonly name: string;
  readonly client?: "kafkajs" | "platformatic";
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

    if (opts.client === "platformatic") return await forwardPlatformatic(opts, src, dst, tag, loadRate);
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

/** The same forwarding on @platformatic/kafka, as PlatformaticBus consumes and produces. */
async function forwardPlatformatic(
  opts: PassThroughOptions,
  src: string,
  dst: string,
  tag: string,
  loadRate: number,
): Promise<Row> {
  const base = { clientId: "riposte-bench-plt", bootstrapBrokers: [...opts.brokers], timeout: 10_000, retries: 8 };
  const forwarder = new PltProducer({
    ...base,
    idempotent: true,
    acks: -1,
    partitioner: compatibilityPartitioner,
  });
  const consumer = new PltConsumer({
    ...base,
    groupId: `bench-${tag}.passthrough-plt`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    autocommit: false,
    maxWaitTime: 100,
  });
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
  try {
    const stream = await consumer.consume({
      topics: [src],
      autocommit: false,
      mode: "earliest",
      maxWaitTime: 100,
    });
    type M = { topic: string; partition: number; offset: bigint; leaderEpoch: number; key: Buffer; value: Buffer };
    const pending = new Map<number, M[]>();
    let round: Promise<void> | undefined;
    const forward = async (part: M[]) => {
      const t = performance.now();
      await forwarder.send({ messages: part.map((m) => ({ topic: dst, key: m.key, value: m.value })) });
      const lastMsg = part[part.length - 1] as M;
      await consumer.commit({
        offsets: [
          { topic: src, partition: lastMsg.partition, offset: lastMsg.offset + 1n, leaderEpoch: lastMsg.leaderEpoch },
        ],
      });
      perChunk.add(performance.now() - t);
      processed += part.length;
      chunks++;
      if (processed >= opts.messages) {
        last = performance.now();
        resolveDone();
      }
    };
    const schedule = () => {
      if (round) return;
      round = (async () => {
        await new Promise((r) => setImmediate(r));
        stream.pause();
        while (pending.size > 0) {
          const work = [...pending.values()];
          pending.clear();
          const workers = Array.from({ length: Math.min(4, work.length) }, async () => {
            for (let w = work.shift(); w; w = work.shift())
              for (let i = 0; i < w.length; i += opts.maxBatch) await forward(w.slice(i, i + opts.maxBatch));
          });
          await Promise.all(workers);
        }
        round = undefined;
        stream.resume();
      })();
    };
    stream.on("data", (m: M) => {
      if (first === 0) {
        first = performance.now();
        cpu = cpuMeter();
      }
      const list = pending.get(m.partition) ?? [];
      list.push(m);
      pending.set(m.partition, list);
      schedule();
    });
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), opts.timeLimitMs).unref()),
    ]);
    stopTicker();
    const cpuUsed = cpu();
    if (timedOut) last = performance.now();
    await round;
    await stream.close().catch(() => undefined);
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
        `@platformatic/kafka; latency per chunk (produce acks=-1 + commit, ≤${opts.maxBatch} msgs, avg ${(processed / Math.max(1, chunks)).toFixed(0)}); ` +
        `${processed.toLocaleString("en-US")} × ${opts.messageBytes} B` +
        `${timedOut ? ` (time limit hit: ${processed} of ${opts.messages})` : ""} in ${seconds.toFixed(1)} s from the first message, ${cpuUsed}; ` +
        `${opts.partitions} partitions, 4 handled concurrently, idempotent producer; ` +
        `backlog loaded at ${fmtRate(loadRate, "msg")} (kafkajs)`,
    };
  } finally {
    stopTicker();
    await consumer.close(true).catch(() => undefined);
    await forwarder.close().catch(() => undefined);
  }
}
