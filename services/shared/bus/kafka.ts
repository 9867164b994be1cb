/**
 * The Kafka bus (kafkajs): idempotent producer with acks=all, consumer groups, offsets committed only after the
 * handler — and so everything it produced — has resolved.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type IHeaders,
  type OffsetsByTopicPartition,
  type Producer,
} from "kafkajs";
import type { Logger } from "../log.ts";
import type { Bus, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from "./types.ts";
import { redeliveryDelay } from "./types.ts";
import { RiposteError, messageOf } from "../errors.ts";
import { ProduceQueue, busError, byTopic, groupErrorTypes, splitBySize, type Tracked } from "./kafka-produce.ts";

/** Bytes per produce request; below the broker's default message.max.bytes (1 MiB) for any one partition. */
const MAX_REQUEST_BYTES = 768 * 1024;

/** Largest record Riposte's topics accept (set on the topics it creates): a 10 MiB event plus its DLQ envelope. */
export const TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: Logger;
  /** Partitions of one consumer handled at once (default 4). */
  readonly partitionsConcurrently?: number;
  /**
   * Called when a consumer crashed for good (kafkajs will not restart it). Services exit so that their supervisor
   * restarts them; the default only logs.
   */
  readonly onFatal?: (error: Error) => void;
  /** Consumer group session timeout (default 30 s); a member silent for longer is evicted. */
  readonly sessionTimeoutMs?: number;
}

/**
 * Until the broker's metadata gives every partition of the topics a leader. createTopics' own waitForLeaders can
 * answer before that (seen as UNKNOWN_TOPIC_OR_PARTITION from a produce or an offsets read right after creation).
 */
async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      const ready = topics.every((t) => {
        const m = meta.topics.find((x) => x.name === t);
        return m !== undefined && m.partitions.length > 0 && m.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
    } catch {
      // not known yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class KafkaBus implements Bus {
  readonly kind = "kafka" as const;
  private readonly kafka: Kafka;
  private readonly log: Logger;
  private producer: Producer | undefined;
  private producerReady: Promise<Producer> | undefined;
  private readonly consumers = new Set<Consumer>();
  private readonly concurrency: number;
  private readonly onFatal: (error: Error) => void;
  private readonly sessionTimeoutMs: number;
  private readonly produce = new ProduceQueue((batches) => this.send(batches));

  constructor(opts: KafkaBusOptions) {
    this.log = opts.log.child({ component: "kafka" });
    this.concurrency = opts.partitionsConcurrently ?? 4;
    this.onFatal = opts.onFatal ?? (() => undefined);
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 30_000;
    const log = this.log;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: [...opts.brokers],
      logLevel: logLevel.WARN,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const { message, ...rest } = entry;
          if (level <= logLevel.ERROR) log.error(rest, message);
          else log.warn(rest, message);
        },
    });
  }

  private getProducer(): Promise<Producer> {
    this.producerReady ??= (async () => {
      const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await p.connect();
      this.producer = p;
      return p;
    })().catch((e: unknown) => {
      this.producerReady = undefined;
      throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `cannot connect to Kafka: ${messageOf(e)}`, { cause: e });
    });
    return this.producerReady;
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: s.replication ?? 1,
          configEntries: [
            { name: "max.message.bytes", value: String(TOPIC_MAX_MESSAGE_BYTES) },
            ...(s.compacted ? [{ name: "cleanup.policy", value: "compact" }] : []),
          ],
        })),
      });
      await waitForLeaders(
        admin,
        missing.map((s) => s.name),
      );
      this.log.info({ topics: missing.map((s) => s.name) }, "created topics");
    } finally {
      await admin.disconnect();
    }
  }

  async publish(topic: string, messages: readonly OutMessage[]): Promise<void> {
    await this.publishBatch([{ topic, messages }]);
  }

  /** Appends batches, resolving once Kafka acknowledged them (acks=all); concurrent calls are coalesced. */
  publishBatch(batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>): Promise<void> {
    return this.produce.publish(batches);
  }

  /**
   * Sends in produce requests of at most MAX_REQUEST_BYTES, marking what Kafka acknowledged; returns the failure.
   * After a failure the producer is replaced: kafkajs rolls back the sequence numbers of every partition of a
   * failed request, also of those the broker wrote, and the broker would then drop later records as duplicates
   * or refuse them as out of order.
   */
  private async send(
    batches: ReadonlyArray<{ topic: string; messages: Tracked[] }>,
  ): Promise<RiposteError | undefined> {
    try {
      const producer = await this.getProducer();
      for (const part of splitBySize(byTopic(batches), MAX_REQUEST_BYTES)) {
        await producer.sendBatch({
          acks: -1,
          topicMessages: part.map((t) => ({
            topic: t.topic,
            messages: t.messages.map(({ key, value, headers }) => ({ key, value, headers })),
          })),
        });
        for (const t of part) for (const m of t.messages) m.acked = true;
      }
      return undefined;
    } catch (e) {
      await this.resetProducer();
      return busError(e);
    }
  }

  private async resetProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    this.producerReady = undefined;
    await p?.disconnect().catch(() => undefined);
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: opts.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning ?? true });
    this.consumers.add(consumer);
    const maxBatch = opts.maxBatch ?? 500;
    const log = this.log.child({ group: opts.groupId });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.concurrency,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const heartbeat = () => payload.heartbeat();
        const isRunning = () => payload.isRunning();
        const isStale = () => payload.isStale();
        const resolveOffset = (o: string) => payload.resolveOffset(o);
        const commit = (o: OffsetsByTopicPartition) => payload.commitOffsetsIfNecessary(o);
        const all = batch.messages.map((m): InMessage => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key === null ? null : m.key.toString(),
          value: m.value ?? Buffer.alloc(0),
          headers: headersOf(m.headers),
          timestamp: Number(m.timestamp),
        }));
        for (let i = 0; i < all.length; i += maxBatch) {
          const chunk = all.slice(i, i + maxBatch);
          for (let attempt = 0; ; attempt++) {
            if (!isRunning() || isStale()) return;
            // Heartbeats while the handler runs: a slow vendor API must not get this member evicted.
            const beat = setInterval(
              () => void heartbeat().catch(() => undefined),
              Math.min(3_000, this.sessionTimeoutMs / 3),
            );
            try {
              await opts.handler(chunk);
              break;
            } catch (e) {
              log.warn(
                { err: messageOf(e), topic: batch.topic, partition: batch.partition, attempt },
                "handler failed; batch will be redelivered",
              );
              await sleep(redeliveryDelay(attempt));
            } finally {
              clearInterval(beat);
            }
          }
          // After a rebalance the partition may belong to another member: it will redeliver from the last commit.
          // A stop does not: the handled chunk is committed (stop waits for it), as the Subscription contract says.
          if (isStale()) return;
          const last = chunk[chunk.length - 1] as InMessage;
          resolveOffset(last.offset);
          try {
            // The batch's own commit, not consumer.commitOffsets: that one is a no-op once a stop has begun.
            await commit({
              topics: [
                {
                  topic: batch.topic,
                  partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
                },
              ],
            });
            if (isRunning()) await heartbeat();
          } catch (e) {
            log.warn(
              { err: messageOf(e), topic: batch.topic, partition: batch.partition },
              "commit failed; the batch will be redelivered",
            );
            return;
          }
        }
      },
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      if (restart) return;
      log.fatal({ err: messageOf(error) }, "Kafka consumer crashed and will not restart");
      this.onFatal(error);
    });
    return {
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async offsets(topic: string): Promise<Map<number, { low: string; high: string }>> {
    return this.withAdmin(async (admin) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }]));
    });
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    return this.withAdmin(async (admin) => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map(
        (entry?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, p.offset]),
      );
    });
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.withAdmin(async (admin) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await admin.deleteGroups([groupId]);
          return;
        } catch (e) {
          const types = groupErrorTypes(e);
          if (types.length > 0 && types.every((t) => t === "GROUP_ID_NOT_FOUND")) return;
          // The members of a stopped consumer may take a moment to be gone from the coordinator.
          if (types.includes("NON_EMPTY_GROUP") && attempt < 40) {
            await sleep(250);
            continue;
          }
          throw new RiposteError(
            "RIPOSTE_BUS_UNAVAILABLE",
            `cannot delete consumer group ${groupId}: ${messageOf(e)}${types.length ? ` (${types.join(", ")})` : ""}`,
            { cause: e },
          );
        }
      }
    });
  }

  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    if (this.producer) await this.producer.disconnect();
    this.producer = undefined;
    this.producerReady = undefined;
  }
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[v.length - 1]) : v.toString();
  }
  return out;
}
