/**
 * The Kafka bus on @platformatic/kafka: the same contract as the kafkajs bus (idempotent producer with acks=all,
 * consumer groups, offsets committed only after the handler — and so everything it produced — has resolved), on a
 * maintained pure-TypeScript client whose produce calls pipeline instead of being coalesced behind one request.
 *
 * Differences that matter, and how they are bridged:
 * - Partitioning: the client's default partitioner is not Java's (murmur2 unsigned instead of masked), so keys
 *   would land on other partitions than with kafkajs or the Java client; `compatibilityPartitioner` is used, so a
 *   key's partition is the same whichever client (or tool) produced it. Null keys go round robin, as with kafkajs.
 * - The idempotent producer retries forever unless told otherwise: `retries` is bounded, so an outage surfaces as
 *   RIPOSTE_BUS_UNAVAILABLE within `timeout × retries` instead of hanging a handler.
 * - Concurrent publishes are coalesced into one produce request while the previous one is in flight, as with
 *   kafkajs: the idempotent producer allows one request in flight per connection, so separate sends would queue.
 * - A failed produce leaves the client's sequence numbers ahead of the broker's: the producer is replaced, as the
 *   kafkajs bus does.
 * - Consumption is a stream of messages: it is cut into per-partition batches of at most `maxBatch`, handled with
 *   up to `partitionsConcurrently` partitions at once, each partition in offset order and each going on as soon as
 *   its own previous batch is done (not when the slowest partition's is); the stream is paused while that many
 *   batches' worth of messages wait (bounded memory), and a batch whose handler rejects is handed again after a
 *   backoff.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  Admin,
  Consumer,
  Producer,
  compatibilityPartitioner,
  type Message,
  type MessageToProduce,
  type MessagesStream,
} from "@platformatic/kafka";
import type { Logger } from "../log.ts";
import type { Bus, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from "./types.ts";
import { redeliveryDelay } from "./types.ts";
import { RiposteError, messageOf } from "../errors.ts";
import { ProduceQueue, busError, byTopic, splitBySize, type Tracked } from "./kafka-produce.ts";
import { TOPIC_MAX_MESSAGE_BYTES, type KafkaBusOptions } from "./kafka.ts";

/** Bytes per produce request; below the broker's default message.max.bytes (1 MiB) for any one partition. */
const MAX_REQUEST_BYTES = 768 * 1024;
/** Per request (ms) and attempts: an unreachable broker fails a publish after about 8 × 10 s, never hangs it. */
const REQUEST_TIMEOUT_MS = 10_000;
const RETRIES = 8;

type Out = Producer<Buffer, Buffer, string, string>;
type In = Consumer<Buffer, Buffer, Buffer, Buffer>;
type InStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

const serializers = {
  key: (k?: Buffer) => k,
  value: (v?: Buffer) => v,
  headerKey: (k?: string) => (k === undefined ? undefined : Buffer.from(k)),
  headerValue: (v?: string) => (v === undefined ? undefined : Buffer.from(v)),
};
/** Java's (and kafkajs') partition for a key; null keys round robin. */
function javaPartitioner(): (m: MessageToProduce<Buffer, Buffer, string, string>, key?: Buffer) => number {
  let next = 0;
  return (m, key) => (Buffer.isBuffer(key) ? compatibilityPartitioner(m, key) : next++ & 0x7fffffff);
}
const asBuffer = (b: Buffer | null | undefined) => b ?? undefined;
const deserializers = { key: asBuffer, value: asBuffer, headerKey: asBuffer, headerValue: asBuffer };

interface Generation {
  readonly producer: Out;
  retired: boolean;
}

export class PlatformaticBus implements Bus {
  readonly kind = "kafka" as const;
  private readonly log: Logger;
  private readonly brokers: string[];
  private readonly clientId: string;
  private readonly concurrency: number;
  private readonly sessionTimeoutMs: number;
  private readonly onFatal: (error: Error) => void;
  private current: Generation | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private readonly subscriptions = new Set<Subscription>();
  private admin: Admin | undefined;
  private closed = false;
  private readonly produce = new ProduceQueue((batches) => this.send(batches));

  constructor(opts: KafkaBusOptions) {
    this.log = opts.log.child({ component: "kafka", client: "platformatic" });
    this.brokers = [...opts.brokers];
    this.clientId = opts.clientId;
    this.concurrency = opts.partitionsConcurrently ?? 4;
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 30_000;
    this.onFatal = opts.onFatal ?? (() => undefined);
  }

  private base() {
    return {
      clientId: this.clientId,
      bootstrapBrokers: this.brokers,
      timeout: REQUEST_TIMEOUT_MS,
      retries: RETRIES,
      retryDelay: 250,
    };
  }

  private getAdmin(): Admin {
    this.admin ??= new Admin(this.base());
    return this.admin;
  }

  private generation(): Generation {
    if (this.closed) throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", "the Kafka bus is closed");
    return (this.current ??= {
      producer: new Producer({
        ...this.base(),
        idempotent: true,
        acks: -1,
        autocreateTopics: false,
        partitioner: javaPartitioner(),
        serializers,
      }),
      retired: false,
    });
  }

  /** Takes a producer out of use (after a failure, at close) and closes it; sends are serial, none is on it. */
  private retire(g: Generation): void {
    if (g.retired) return;
    g.retired = true;
    if (this.current === g) this.current = undefined;
    const p = g.producer.close().catch(() => undefined);
    this.retiring.add(p);
    void p.finally(() => this.retiring.delete(p));
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = this.getAdmin();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name));
      if (missing.length === 0) return;
      // One request per shape: partitions, replicas and configs apply to every topic of a createTopics call.
      const shapes = new Map<string, TopicSpec[]>();
      for (const s of missing) {
        const shape = `${s.partitions}/${s.replication ?? 1}/${s.compacted ? "c" : "d"}`;
        shapes.set(shape, [...(shapes.get(shape) ?? []), s]);
      }
      for (const group of shapes.values()) {
        const first = group[0] as TopicSpec;
        try {
          await admin.createTopics({
            topics: group.map((s) => s.name),
            partitions: first.partitions,
            replicas: first.replication ?? 1,
            configs: [
              { name: "max.message.bytes", value: String(TOPIC_MAX_MESSAGE_BYTES) },
              ...(first.compacted ? [{ name: "cleanup.policy", value: "compact" }] : []),
            ],
          });
        } catch (e) {
          // Another process created it in between: that is what was wanted.
          if (!apiIds(e).every((id) => id === "TOPIC_ALREADY_EXISTS") || apiIds(e).length === 0) throw e;
        }
      }
      await this.waitForLeaders(missing.map((s) => s.name));
      this.log.info({ topics: missing.map((s) => s.name) }, "created topics");
    } catch (e) {
      if (e instanceof RiposteError) throw e;
      throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `cannot create topics: ${messageOf(e)}`, { cause: e });
    }
  }

  /** Until every partition of the topics has a leader (a producer or consumer right after creation would fail). */
  private async waitForLeaders(topics: string[]): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const meta = await this.getAdmin().metadata({ topics, forceUpdate: true });
        const ready = topics.every((t) => {
          const m = meta.topics.get(t);
          return m !== undefined && m.partitions.length > 0 && m.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return;
      } catch {
        // not known yet
      }
      await sleep(100);
    }
  }

  async offsets(topic: string): Promise<Map<number, { low: string; high: string }>> {
    try {
      const admin = this.getAdmin();
      const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
      const count = meta.topics.get(topic)?.partitionsCount ?? 0;
      const ask = async (timestamp: bigint) => {
        const res = await admin.listOffsets({
          topics: [
            { name: topic, partitions: Array.from({ length: count }, (_, i) => ({ partitionIndex: i, timestamp })) },
          ],
        });
        return new Map((res[0]?.partitions ?? []).map((p) => [p.partitionIndex, p.offset.toString()]));
      };
      const [low, high] = await Promise.all([ask(-2n), ask(-1n)]);
      return new Map([...high].map(([p, h]) => [p, { low: low.get(p) ?? "0", high: h }]));
    } catch (e) {
      throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `cannot read offsets of ${topic}: ${messageOf(e)}`, {
        cause: e,
      });
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    try {
      const res = await this.getAdmin().listConsumerGroupOffsets({ groups: [groupId] });
      const t = res[0]?.topics.find((x) => x.name === topic);
      return new Map(
        (t?.partitions ?? [])
          .filter((p) => p.committedOffset >= 0n)
          .map((p) => [p.partitionIndex, String(p.committedOffset)]),
      );
    } catch (e) {
      throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `cannot read offsets of group ${groupId}: ${messageOf(e)}`, {
        cause: e,
      });
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.getAdmin().deleteGroups({ groups: [groupId] });
        return;
      } catch (e) {
        const ids = apiIds(e);
        if (ids.length > 0 && ids.every((t) => t === "GROUP_ID_NOT_FOUND")) return;
        // The members of a stopped consumer may take a moment to be gone from the coordinator.
        if (ids.includes("NON_EMPTY_GROUP") && attempt < 40) {
          await sleep(250);
          continue;
        }
        throw new RiposteError(
          "RIPOSTE_BUS_UNAVAILABLE",
          `cannot delete consumer group ${groupId}: ${messageOf(e)}${ids.length ? ` (${ids.join(", ")})` : ""}`,
          { cause: e },
        );
      }
    }
  }

  async publish(topic: string, messages: readonly OutMessage[]): Promise<void> {
    await this.publishBatch([{ topic, messages }]);
  }

  /** Appends batches, resolving once Kafka acknowledged them (acks=all); concurrent calls are coalesced. */
  publishBatch(batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>): Promise<void> {
    return this.produce.publish(batches);
  }

  /** Sends in produce requests of at most MAX_REQUEST_BYTES, marking what Kafka acknowledged; returns the failure. */
  private async send(
    batches: ReadonlyArray<{ topic: string; messages: Tracked[] }>,
  ): Promise<RiposteError | undefined> {
    let g: Generation | undefined;
    try {
      g = this.generation();
      for (const part of splitBySize(byTopic(batches), MAX_REQUEST_BYTES)) {
        await g.producer.send({
          messages: part.flatMap((t) =>
            t.messages.map((m) => ({
              topic: t.topic,
              ...(m.key === null ? {} : { key: Buffer.from(m.key) }),
              value: typeof m.value === "string" ? Buffer.from(m.value) : m.value,
              headers: m.headers,
            })),
          ),
        });
        for (const t of part) for (const m of t.messages) m.acked = true;
      }
      return undefined;
    } catch (e) {
      if (g) this.retire(g);
      return busError(e);
    }
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const log = this.log.child({ group: opts.groupId });
    const consumer: In = new Consumer({
      ...this.base(),
      groupId: opts.groupId,
      sessionTimeout: this.sessionTimeoutMs,
      rebalanceTimeout: Math.max(this.sessionTimeoutMs, 60_000),
      heartbeatInterval: Math.min(3_000, Math.floor(this.sessionTimeoutMs / 3)),
      autocommit: false,
      maxWaitTime: 100,
      deserializers,
    });
    let stream: InStream;
    try {
      stream = await consumer.consume({
        topics: [...opts.topics],
        autocommit: false,
        mode: "committed",
        fallbackMode: opts.fromBeginning === false ? "latest" : "earliest",
        maxWaitTime: 100,
        deserializers,
      });
    } catch (e) {
      await consumer.close(true).catch(() => undefined);
      throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `cannot subscribe ${opts.groupId}: ${messageOf(e)}`, {
        cause: e,
      });
    }
    const maxBatch = opts.maxBatch ?? 500;
    const pending = new Map<string, InMessage[]>();
    /** Per partition: the offset after the last message handled, so a re-fetch after a rebalance is not handed twice. */
    const handledUpTo = new Map<string, bigint>();
    const epochs = new Map<string, number>();
    let buffered = 0;
    let paused = false;
    let stopping = false;
    /** Offsets to commit, per partition (the latest handled wins), sent by one commit request at a time. */
    const toCommit = new Map<string, { topic: string; partition: number; offset: bigint; leaderEpoch: number }>();
    let committing: Promise<void> | undefined;
    const flushCommits = (): Promise<void> => {
      committing ??= (async () => {
        while (toCommit.size > 0) {
          const offsets = [...toCommit.values()];
          toCommit.clear();
          try {
            await consumer.commit({ offsets });
          } catch (e) {
            // The outputs are durable; a later commit covers these offsets, or after a rebalance the new owner
            // reads from the last commit again (at-least-once, as on any redelivery).
            log.warn(
              { err: messageOf(e), partitions: offsets.map((o) => `${o.topic}/${o.partition}`) },
              "commit failed; the batch may be redelivered",
            );
          }
        }
      })().finally(() => (committing = undefined));
      return committing;
    };

    const handleChunk = async (chunk: InMessage[]): Promise<boolean> => {
      for (let attempt = 0; ; attempt++) {
        if (stopping && attempt > 0) return false;
        try {
          await opts.handler(chunk);
          return true;
        } catch (e) {
          const first = chunk[0] as InMessage;
          log.warn(
            { err: messageOf(e), topic: first.topic, partition: first.partition, attempt },
            "handler failed; batch will be redelivered",
          );
          await sleep(redeliveryDelay(attempt));
        }
      }
    };

    const handlePartition = async (key: string, messages: InMessage[]): Promise<void> => {
      for (let i = 0; i < messages.length; i += maxBatch) {
        const chunk = messages.slice(i, i + maxBatch);
        if (!(await handleChunk(chunk))) return;
        const last = chunk[chunk.length - 1] as InMessage;
        const next = BigInt(last.offset) + 1n;
        handledUpTo.set(key, next);
        // Committed after the handler (its outputs are durable), without holding the next batch back: the commit
        // runs while the partition goes on, one request at a time for all partitions.
        toCommit.set(key, {
          topic: last.topic,
          partition: last.partition,
          offset: next,
          leaderEpoch: epochs.get(key) ?? -1,
        });
        void flushCommits();
      }
    };

    /** Partitions with messages waiting and no lane, in arrival order. */
    const ready: string[] = [];
    /** Partitions being handled or waiting in `ready`. */
    const queued = new Set<string>();
    const lanes = new Set<Promise<void>>();
    let starting = false;

    /**
     * Hands one partition's waiting messages (up to maxBatch) to the handler, then frees its lane: a partition is
     * never held back by another one's slower batch, and with more partitions than lanes they take turns.
     */
    const turn = async (key: string): Promise<void> => {
      const list = pending.get(key) ?? [];
      const messages = list.splice(0, maxBatch);
      if (list.length === 0) pending.delete(key);
      buffered -= messages.length;
      if (paused && !stopping && buffered < maxBatch * this.concurrency) {
        paused = false;
        stream.resume();
      }
      try {
        await handlePartition(key, messages);
      } catch (e) {
        log.error({ err: messageOf(e), partition: key.replace("\u0000", "/") }, "consumer batch failed");
      }
      if (!stopping && pending.has(key)) ready.push(key);
      else queued.delete(key);
    };

    const startLanes = () => {
      while (!stopping && lanes.size < this.concurrency && ready.length > 0) {
        const lane: Promise<void> = turn(ready.shift() as string).finally(() => {
          lanes.delete(lane);
          startLanes();
        });
        lanes.add(lane);
      }
    };

    const schedule = (key: string) => {
      if (!queued.has(key)) {
        queued.add(key);
        ready.push(key);
      }
      if (starting || stopping) return;
      starting = true;
      // Let the rest of a fetch response arrive first: a lane then takes whole batches.
      setImmediate(() => {
        starting = false;
        startLanes();
      });
    };

    stream.on("data", (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
      if (stopping) return;
      const key = `${m.topic}\u0000${m.partition}`;
      const done = handledUpTo.get(key);
      if (done !== undefined && m.offset < done) return;
      epochs.set(key, m.leaderEpoch);
      const list = pending.get(key) ?? [];
      list.push(toInMessage(m));
      pending.set(key, list);
      if (++buffered >= maxBatch * this.concurrency && !paused) {
        paused = true;
        stream.pause();
      }
      schedule(key);
    });
    stream.on("error", (e: Error) => {
      if (stopping) return;
      log.fatal({ err: messageOf(e) }, "Kafka consumer stream failed and will not restart");
      this.onFatal(e);
    });

    const sub: Subscription = {
      stop: async () => {
        if (stopping) return;
        stopping = true;
        this.subscriptions.delete(sub);
        // A batch in flight finishes and commits first, as the Subscription contract says.
        while (lanes.size > 0) await Promise.all([...lanes]);
        await flushCommits();
        await stream.close().catch(() => undefined);
        await consumer.close(true).catch(() => undefined);
      },
    };
    this.subscriptions.add(sub);
    return sub;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    if (this.current) this.retire(this.current);
    await Promise.allSettled([...this.retiring]);
    await this.admin?.close().catch(() => undefined);
    this.admin = undefined;
  }
}

function toInMessage(m: Message<Buffer, Buffer, Buffer, Buffer>): InMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of m.headers) if (k) headers[k.toString()] = v ? v.toString() : "";
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset.toString(),
    key: m.key ? m.key.toString() : null,
    value: m.value ?? Buffer.alloc(0),
    headers,
    timestamp: Number(m.timestamp),
  };
}

/** The Kafka protocol error ids (UNKNOWN_TOPIC_OR_PARTITION, ...) of an error, its causes and aggregated errors. */
export function apiIds(e: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (x: unknown, depth: number) => {
    if (depth > 6 || x === null || typeof x !== "object" || seen.has(x)) return;
    seen.add(x);
    const o = x as { apiId?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.apiId === "string") out.push(o.apiId);
    if (Array.isArray(o.errors)) for (const inner of o.errors) visit(inner, depth + 1);
    visit(o.cause, depth + 1);
  };
  visit(e, 0);
  return out;
}
