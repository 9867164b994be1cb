/**
 * The in-process bus of the embedded mode: partitioned logs in memory, consumer groups with committed offsets,
 * redelivery on handler failure. Same contract as the Kafka bus, checked by one conformance suite.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createHash } from "node:crypto";
import type { Bus, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from "./types.ts";
import { redeliveryDelay } from "./types.ts";
import { fairEviction } from "./retention.ts";

interface Stored {
  readonly offset: number;
  /** Approximate bytes held (value, key, headers). */
  readonly size: number;
  readonly message: InMessage;
}

/** A partition's retained records, in offset order; fair retention may leave holes between them. */
interface Partition {
  /** The offset the next record gets. */
  next: number;
  entries: Stored[];
  bytes: number;
}

interface Group {
  readonly committed: Map<string, number>;
  readonly topics: Set<string>;
  /** A one-off reader: its reads free nothing and it holds nothing back. */
  readonly ephemeral: boolean;
  /** Running subscriptions. */
  active: number;
}

/** How many consumed records a partition keeps once every group has read them, and their bytes at most. */
const RETAIN_CONSUMED = 1_000;
const RETAIN_CONSUMED_BYTES = 4 * 1024 * 1024;
/**
 * Caps of a partition no group is consuming right now (the embedded mode's audit trail and DLQ). Over a cap, it
 * is cut to 90% of it, fairly per key (the DLQ's key is the source).
 */
export const RETAIN_RECORDS = 10_000;
export const RETAIN_BYTES = 16 * 1024 * 1024;

const sizeOf = (m: InMessage): number => {
  let n = 64 + m.value.length + (m.key?.length ?? 0);
  for (const [k, v] of Object.entries(m.headers)) n += k.length + v.length;
  return n;
};

/** Index of the first entry at or after `offset`. */
function indexOf(p: Partition, offset: number): number {
  let lo = 0;
  let hi = p.entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((p.entries[mid] as Stored).offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const lowOf = (p: Partition): number => p.entries[0]?.offset ?? p.next;

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
          Array.from({ length: s.partitions }, () => ({ next: 0, entries: [], bytes: 0 })),
        );
      }
    }
  }

  async publish(topic: string, messages: readonly OutMessage[]): Promise<void> {
    const parts = this.topics.get(topic);
    if (!parts) throw new Error(`unknown topic ${topic}: create it with ensureTopics first`);
    const now = Date.now();
    let rr = 0;
    const touched = new Set<number>();
    for (const m of messages) {
      const partition = m.key === null ? rr++ % parts.length : partitionOf(m.key, parts.length);
      const p = parts[partition] as Partition;
      const message: InMessage = {
        topic,
        partition,
        offset: String(p.next),
        key: m.key,
        value: typeof m.value === "string" ? Buffer.from(m.value) : m.value,
        headers: { ...m.headers },
        timestamp: now,
      };
      const size = sizeOf(message);
      p.entries.push({ offset: p.next++, size, message });
      p.bytes += size;
      touched.add(partition);
    }
    if (!this.consumedNow(topic)) for (const i of touched) this.cap(parts[i] as Partition);
    this.wake();
  }

  async offsets(topic: string): Promise<Map<number, { low: string; high: string }>> {
    const parts = this.topics.get(topic) ?? [];
    return new Map(parts.map((p, i) => [i, { low: String(lowOf(p)), high: String(p.next) }]));
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
      group = { committed: new Map(), topics: new Set(), ephemeral: opts.ephemeral === true, active: 0 };
      this.groups.set(opts.groupId, group);
      if (opts.fromBeginning === false) {
        for (const t of opts.topics) {
          (this.topics.get(t) ?? []).forEach((p, i) => group?.committed.set(`${t}/${i}`, p.next));
        }
      }
    }
    const g = group;
    for (const t of opts.topics) g.topics.add(t);
    g.active++;
    let running = true;
    const maxBatch = opts.maxBatch ?? 500;
    const loops: Promise<void>[] = [];
    for (const topic of opts.topics) {
      const parts = this.topics.get(topic) ?? [];
      parts.forEach((p, i) => loops.push(this.consume(topic, i, p, g, maxBatch, opts, () => running)));
    }
    let stopped: Promise<void> | undefined;
    return {
      stop: () =>
        (stopped ??= (async () => {
          running = false;
          this.wake();
          await Promise.all(loops);
          g.active--;
        })()),
    };
  }

  /** Drops the group and its committed offsets; it must have no running subscription. */
  async deleteGroup(groupId: string): Promise<void> {
    const g = this.groups.get(groupId);
    if (!g) return;
    if (g.active > 0) throw new Error(`consumer group ${groupId} still has running subscriptions`);
    this.groups.delete(groupId);
    for (const t of g.topics) {
      const parts = this.topics.get(t) ?? [];
      parts.forEach((p, i) => this.trim(t, i, p));
    }
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
      const start = indexOf(p, group.committed.get(key) ?? 0);
      if (start >= p.entries.length) {
        await this.waitForData();
        continue;
      }
      const batch = p.entries.slice(start, start + maxBatch).map((e) => e.message);
      // Yield to I/O between batches: in-memory handlers may never leave the microtask queue otherwise.
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        await opts.handler(batch);
        group.committed.set(key, Number((batch[batch.length - 1] as InMessage).offset) + 1);
        attempt = 0;
        if (!group.ephemeral) this.trim(topic, index, p);
      } catch {
        await sleep(redeliveryDelay(attempt++));
      }
    }
  }

  /** Whether a group whose reads free data is consuming the topic right now. */
  private consumedNow(topic: string): boolean {
    for (const g of this.groups.values()) if (!g.ephemeral && g.active > 0 && g.topics.has(topic)) return true;
    return false;
  }

  /**
   * Drops what every group consuming the topic has read, keeping the last RETAIN_CONSUMED records (at most
   * RETAIN_CONSUMED_BYTES); a partition that no group consumes right now is held to the retention caps.
   */
  private trim(topic: string, index: number, p: Partition): void {
    let min = Infinity;
    for (const g of this.groups.values()) {
      if (!g.ephemeral && g.topics.has(topic)) min = Math.min(min, g.committed.get(`${topic}/${index}`) ?? lowOf(p));
    }
    if (min !== Infinity) {
      const consumed = indexOf(p, min);
      let keep = 0;
      let bytes = 0;
      while (keep < Math.min(consumed, RETAIN_CONSUMED)) {
        bytes += (p.entries[consumed - keep - 1] as Stored).size;
        if (bytes > RETAIN_CONSUMED_BYTES) break;
        keep++;
      }
      const drop = consumed - keep;
      if (drop > 0) {
        for (let i = 0; i < drop; i++) p.bytes -= (p.entries[i] as Stored).size;
        p.entries.splice(0, drop);
      }
    }
    if (!this.consumedNow(topic)) this.cap(p);
  }

  /** Holds the partition to the retention caps, evicting fairly per key. */
  private cap(p: Partition): void {
    if (p.entries.length <= RETAIN_RECORDS && p.bytes <= RETAIN_BYTES) return;
    const evict = fairEviction(
      p.entries.map((e) => ({ key: e.message.key, size: e.size })),
      Math.floor(RETAIN_RECORDS * 0.9),
      Math.floor(RETAIN_BYTES * 0.9),
    );
    p.entries = p.entries.filter((_e, i) => !evict.has(i));
    p.bytes = p.entries.reduce((n, e) => n + e.size, 0);
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
