/**
 * The Kafka bus's produce path, apart from the client: how publish failures map to the error catalogue and how
 * coalesced messages are cut into produce requests. Pure.
 */
import { RiposteError, messageOf } from "../errors.ts";
import type { OutMessage } from "./types.ts";

/** Sends coalesced batches, marking what the broker acknowledged; returns the failure, if any. */
export type SendTracked = (
  batches: ReadonlyArray<{ topic: string; messages: Tracked[] }>,
) => Promise<RiposteError | undefined>;

/**
 * Coalesces concurrent publish calls into one send while the previous one is in flight: an idempotent producer
 * allows one request in flight per connection, so coalescing is what lets concurrent handlers share it. Each
 * caller's messages keep their order, and callers are served in call order. A record the broker refuses
 * (RIPOSTE_BUS_REJECTED: too large, invalid, not authorized) fails only its own caller: the calls not yet
 * acknowledged are then sent one by one, and the others' records may be written twice (at-least-once, as on
 * redelivery).
 */
export class ProduceQueue {
  private readonly queue: PublishCall[] = [];
  private flushing = false;
  private readonly send: SendTracked;

  constructor(send: SendTracked) {
    this.send = send;
  }

  publish(batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>): Promise<void> {
    const nonEmpty = batches.filter((b) => b.messages.length > 0);
    if (nonEmpty.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batches: nonEmpty, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.deliver(this.queue.splice(0, this.queue.length));
    } finally {
      this.flushing = false;
    }
  }

  private async deliver(calls: readonly PublishCall[]): Promise<void> {
    const perCall = calls.map((c) =>
      c.batches.map((b) => ({
        topic: b.topic,
        messages: b.messages.map((m): Tracked => ({
          key: m.key,
          value: m.value,
          headers: { ...m.headers },
          acked: false,
        })),
      })),
    );
    const acked = (i: number) => (perCall[i] ?? []).every((b) => b.messages.every((m) => m.acked));
    const failure = await this.send(perCall.flat());
    if (!failure) {
      for (const c of calls) c.resolve();
      return;
    }
    if (failure.code !== "RIPOSTE_BUS_REJECTED" || calls.length === 1) {
      calls.forEach((c, i) => (acked(i) ? c.resolve() : c.reject(failure)));
      return;
    }
    let unavailable: RiposteError | undefined;
    for (const [i, c] of calls.entries()) {
      if (acked(i)) c.resolve();
      else if (unavailable) c.reject(unavailable);
      else {
        const own = (perCall[i] ?? []).map((b) => ({ topic: b.topic, messages: b.messages.filter((m) => !m.acked) }));
        const e = await this.send(own);
        if (!e) c.resolve();
        else {
          c.reject(e);
          if (e.code !== "RIPOSTE_BUS_REJECTED") unavailable = e;
        }
      }
    }
  }
}

/** Groups coalesced batches by topic, in order. */
export function byTopic<M>(batches: ReadonlyArray<{ topic: string; messages: readonly M[] }>): Map<string, M[]> {
  const out = new Map<string, M[]>();
  for (const b of batches) {
    const list = out.get(b.topic) ?? [];
    for (const m of b.messages) list.push(m);
    out.set(b.topic, list);
  }
  return out;
}

export type Produced = { key: string | null; value: Buffer | string; headers: Record<string, string> };
export type Tracked = Produced & { acked: boolean };

export interface PublishCall {
  readonly batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Broker errors that retrying the same records cannot cure. */
const REJECTIONS = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TIMESTAMP",
  "UNSUPPORTED_FOR_MESSAGE_FORMAT",
  "POLICY_VIOLATION",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
]);

/**
 * The Kafka error names of an error, its causes and aggregated errors: kafkajs' `type`, @platformatic/kafka's
 * `apiId` (both use the protocol's names: MESSAGE_TOO_LARGE, ...).
 */
function errorTypes(e: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (x: unknown, depth: number) => {
    if (depth > 6 || x === null || typeof x !== "object" || seen.has(x)) return;
    seen.add(x);
    const o = x as { type?: unknown; apiId?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (typeof o.type === "string") out.push(o.type);
    if (typeof o.apiId === "string") out.push(o.apiId);
    if (Array.isArray(o.errors)) for (const inner of o.errors.slice(0, 16)) visit(inner, depth + 1);
    visit(o.cause, depth + 1);
    visit(o.originalError, depth + 1);
  };
  visit(e, 0);
  return out;
}

export function groupErrorTypes(e: unknown): string[] {
  const groups = (e as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) return [];
  return groups.flatMap((g: { error?: { type?: unknown } }) =>
    typeof g.error?.type === "string" ? [g.error.type] : [],
  );
}

/**
 * A produce failure in the error catalogue: RIPOSTE_BUS_REJECTED (not retriable) when the broker refused the
 * records themselves, RIPOSTE_BUS_UNAVAILABLE (retriable) for connections, timeouts and everything else.
 */
export function busError(e: unknown): RiposteError {
  if (e instanceof RiposteError) return e;
  const rejection = errorTypes(e).find((t) => REJECTIONS.has(t));
  return rejection
    ? new RiposteError("RIPOSTE_BUS_REJECTED", `Kafka refused the records (${rejection}): ${messageOf(e)}`, {
        cause: e,
      })
    : new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `Kafka did not acknowledge the batch: ${messageOf(e)}`, { cause: e });
}

/** Approximate bytes a message adds to a produce request. */
function sizeOf(m: Produced): number {
  let n = 64 + (m.key?.length ?? 0) + (typeof m.value === "string" ? Buffer.byteLength(m.value) : m.value.length);
  for (const [k, v] of Object.entries(m.headers)) n += k.length + v.length + 8;
  return n;
}

/**
 * Splits coalesced messages into produce requests of at most `limit` bytes (a single larger message gets a request
 * of its own), in order, so a flush never exceeds what the broker accepts per record batch.
 */
export function splitBySize<M extends Produced>(
  byTopic: Map<string, M[]>,
  limit: number,
): Array<Array<{ topic: string; messages: M[] }>> {
  const parts: Array<Array<{ topic: string; messages: M[] }>> = [];
  let current: Array<{ topic: string; messages: M[] }> = [];
  let bytes = 0;
  for (const [topic, messages] of byTopic) {
    let entry: { topic: string; messages: M[] } | undefined;
    for (const m of messages) {
      const size = sizeOf(m);
      if (bytes > 0 && bytes + size > limit) {
        parts.push(current);
        current = [];
        bytes = 0;
        entry = undefined;
      }
      if (!entry) {
        entry = { topic, messages: [] };
        current.push(entry);
      }
      entry.messages.push(m);
      bytes += size;
    }
  }
  if (current.length > 0) parts.push(current);
  return parts;
}
