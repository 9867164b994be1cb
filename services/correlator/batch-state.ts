/**
 * The correlator's view of state during one batch: every read the batch's plans need is sent at once, before the
 * first plan (one pipelined round trip instead of one per event, and none between two events of one entity), and
 * the plans' writes are applied to this view as they are planned, so a later event of the batch reads what an
 * earlier one wrote, exactly as if each write had gone to the store first. `flush` then sends every write, in plan
 * order, before the batch's decisions are published: nothing is acknowledged before it is durable, and a batch
 * redelivered after a crash before the flush plans again from the store as it was.
 */
import type { StateStore, TimelineEntry } from "../shared/state/index.ts";
import type { StateNeeds, StateOp } from "./plan.ts";

/** What planning reads and writes: the store itself (replays, single decisions) or a batch's view of it. */
export interface PlanState {
  lookup(key: string, field: string): Promise<string | undefined>;
  recall(key: string): Promise<TimelineEntry[]>;
  apply(op: StateOp): Promise<void>;
}

/** Planning straight against the store: each read and write is its own call. */
export function direct(state: StateStore): PlanState {
  return {
    lookup: (key, field) => state.lookup(key, field),
    recall: (key) => state.recall(key),
    apply: (op) =>
      op.op === "record"
        ? state.record(op.key, op.field, op.value, op.ttlMs)
        : state.append(op.key, op.entries, op.cutoffMs, op.cap, op.ttlMs),
  };
}

const byTime = (a: TimelineEntry, b: TimelineEntry) =>
  a.time - b.time || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);

/** Swallows a prefetch's rejection until someone awaits it (then it rejects there, and the batch is retried). */
function held<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export class BatchState implements PlanState {
  private readonly reads = new Map<string, Promise<string | undefined>>();
  private readonly written = new Map<string, string>();
  private readonly recalls = new Map<string, Promise<TimelineEntry[]>>();
  /** Timelines this batch appended to: the store's members with the batch's appends applied. */
  private readonly timelines = new Map<string, Map<string, number>>();
  private readonly ops: StateOp[] = [];
  private readonly state: StateStore;

  constructor(state: StateStore) {
    this.state = state;
  }

  /** Starts the reads of one plan's needs (each key and field read once per batch). */
  prefetch(needs: StateNeeds): void {
    for (const l of needs.lookups) void this.read(l.key, l.field);
    for (const k of needs.timelines) void this.stored(k);
  }

  private read(key: string, field: string): Promise<string | undefined> {
    const id = `${key}\u0000${field}`;
    let p = this.reads.get(id);
    if (!p) {
      p = held(this.state.lookup(key, field));
      this.reads.set(id, p);
    }
    return p;
  }

  private stored(key: string): Promise<TimelineEntry[]> {
    let p = this.recalls.get(key);
    if (!p) {
      p = held(this.state.recall(key));
      this.recalls.set(key, p);
    }
    return p;
  }

  async lookup(key: string, field: string): Promise<string | undefined> {
    const mine = this.written.get(`${key}\u0000${field}`);
    return mine ?? this.read(key, field);
  }

  async recall(key: string): Promise<TimelineEntry[]> {
    const base = await this.stored(key);
    const members = this.timelines.get(key);
    if (!members) return base;
    return [...members].map(([member, time]) => ({ member, time })).sort(byTime);
  }

  /** Applies a write to this view at once and keeps it for `flush` (same semantics as the store's append/record). */
  async apply(op: StateOp): Promise<void> {
    if (op.op === "record") {
      this.written.set(`${op.key}\u0000${op.field}`, op.value);
      this.ops.push(op);
      return;
    }
    const base = await this.stored(op.key);
    let members = this.timelines.get(op.key);
    if (!members) {
      members = new Map(base.map((e) => [e.member, e.time]));
      this.timelines.set(op.key, members);
    }
    for (const { member, time } of op.entries) members.set(member, Math.max(time, members.get(member) ?? time));
    for (const [m, t] of members) if (t < op.cutoffMs) members.delete(m);
    if (members.size > op.cap) {
      const oldest = [...members].map(([member, time]) => ({ member, time })).sort(byTime);
      for (const e of oldest.slice(0, members.size - op.cap)) members.delete(e.member);
    }
    this.ops.push(op);
  }

  /** Writes this batch's operations to the store, in the order they were planned (pipelined where it can). */
  async flush(): Promise<void> {
    const writes = direct(this.state);
    const sent = this.ops.map((op) => writes.apply(op));
    this.ops.length = 0;
    const failed = (await Promise.allSettled(sent)).find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}
