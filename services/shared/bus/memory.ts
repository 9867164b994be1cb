/**
 * The in-process bus of the embedded mode: partitioned logs in memory, consumer groups with committed offsets,
 * redelivery on handler failure. Same contract as the Kafka bus, checked by one conformance suite.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createHash } from "node:crypto";
import type { Bus, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from "./types.ts";
import { redeliveryDelay } from "./types.ts";

interface Partition {
  /** Offset of messages[0]. */
  base: number;
  messages: InMessage[];
}

interface Group {
  readonly committed: Map<string, number>;
  readonly topics: Set<string>;
}

/** How many messages a partition keeps once every known group has consumed them. */
const RETAIN_CONSUMED = 1_000;
/** How many messages a partition of a topic that no group consumes keeps (the embedded mode's audit and DLQ). */
const RETAIN_UNCONSUMED = 10_000;

export class MemoryBus implements Bus {
  readonly kind = "memory" as const;
  private readonly topics = new Map<string, Partition[]>();
  private readonly groups = new Map<string, Group>();
  private readonly waiters = new Set<() => void>();
  private closed = false;

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    for (const s of specs) {
      if (!this.topics.has(s.name)) {
        this.topics.set(
          s.name,
          Array.from({ length: s.partitions }, () => ({ base: 0, messages: [] })),
        );
      }
    }
  }

  async publish(topic: string, messages: readonly OutMessage[]): Promise<void> {
    const parts = this.topics.get(topic);
    if (!parts) throw new Error(`unknown topic ${topic}: create it with ensureTopics first`);
    const now = Date.now();
    let rr = 0;
    for (const m of messages) {
      const partition = m.key === null ? rr++ % parts.length : partitionOf(m.key, parts.length);
      const p = parts[partition] as Partition;
      p.messages.push({
        topic,
        partition,
        offset: String(p.base + p.messages.length),
        key: m.key,
        value: typeof m.value === "string" ? Buffer.from(m.value) : m.value,
        headers: { ...m.headers },
        timestamp: now,
      });
    }
    if (![...this.groups.values()].some((g) => g.topics.has(topic))) parts.forEach((p, i) => this.trim(topic, i, p));
    this.wake();
  }

  async offsets(topic: string): Promise<Map<number, { low: string; high: string }>> {
    const parts = this.topics.get(topic) ?? [];
    return new Map(parts.map((p, i) => [i, { low: String(p.base), high: String(p.base + p.messages.length) }]));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const [key, offset] of this.groups.get(groupId)?.committed ?? []) {
      const slash = key.lastIndexOf("/");
      if (key.slice(0, slash) === topic) out.set(Number(key.slice(slash + 1)), String(offset));
    }
    return out;
  }

  async publishBatch(batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>): Promise<void> {
    for (const b of batches) await this.publish(b.topic, b.messages);
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    for (const t of opts.topics) if (!this.topics.has(t)) throw new Error(`unknown topic ${t}`);
    let group = this.groups.get(opts.groupId);
    if (!group) {
      group = { committed: new Map(), topics: new Set() };
      this.groups.set(opts.groupId, group);
      if (opts.fromBeginning === false) {
        for (const t of opts.topics) {
          (this.topics.get(t) ?? []).forEach((p, i) => group?.committed.set(`${t}/${i}`, p.base + p.messages.length));
        }
      }
    }
    const g = group;
    for (const t of opts.topics) g.topics.add(t);
    let running = true;
    const maxBatch = opts.maxBatch ?? 500;
    const loops: Promise<void>[] = [];
    for (const topic of opts.topics) {
      const parts = this.topics.get(topic) ?? [];
      parts.forEach((p, i) => loops.push(this.consume(topic, i, p, g, maxBatch, opts, () => running)));
    }
    return {
      stop: async () => {
        running = false;
        this.wake();
        await Promise.all(loops);
      },
    };
  }

  private async consume(
    topic: string,
    index: number,
    p: Partition,
    group: Group,
    maxBatch: number,
    opts: SubscribeOptions,
    running: () => boolean,
  ): Promise<void> {
    const key = `${topic}/${index}`;
    let attempt = 0;
    while (running() && !this.closed) {
      const next = Math.max(group.committed.get(key) ?? p.base, p.base);
      const start = next - p.base;
      if (start >= p.messages.length) {
        await this.waitForData();
        continue;
      }
      const batch = p.messages.slice(start, start + maxBatch);
      // Yield to I/O between batches: in-memory handlers may never leave the microtask queue otherwise.
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        await opts.handler(batch);
        group.committed.set(key, next + batch.length);
        attempt = 0;
        this.trim(topic, index, p);
      } catch {
        await sleep(redeliveryDelay(attempt++));
      }
    }
  }

  /**
   * Drops what every group consuming the topic has read, keeping the last RETAIN_CONSUMED; a topic nobody
   * consumes keeps its last RETAIN_UNCONSUMED messages per partition.
   */
  private trim(topic: string, index: number, p: Partition): void {
    let min = Infinity;
    for (const g of this.groups.values()) {
      if (g.topics.has(topic)) min = Math.min(min, g.committed.get(`${topic}/${index}`) ?? p.base);
    }
    if (min === Infinity) min = p.base + p.messages.length - RETAIN_UNCONSUMED + RETAIN_CONSUMED;
    const drop = Math.min(min - RETAIN_CONSUMED, p.base + p.messages.length) - p.base;
    if (drop > RETAIN_CONSUMED) {
      p.messages.splice(0, drop);
      p.base += drop;
    }
  }

  private waitForData(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, 1_000);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }
}

function partitionOf(key: string, n: number): number {
  return createHash("md5").update(key).digest().readUInt32BE(0) % n;
}
