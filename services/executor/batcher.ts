/**
 * Coalescing of batched actions (connectors' `batch`, see BatchSpec): calls of one connector action that arrive
 * within a short window are sent as one vendor request, at most `max` per request; a full batch goes at once.
 * Each caller waits for its own item's result, so its step keeps its own claim, retries and audit record. One
 * rate-limit token is taken per vendor request, not per call, and the circuit breaker judges requests, not calls
 * (one failed request of 500 blocks is one failure).
 */
import { RiposteError, messageOf } from "../shared/errors.ts";
import type { BatchItem, BatchSpec } from "./connectors/index.ts";
import { BREAKER_CODES, type CircuitBreaker } from "./limits.ts";

/** Errors of batches that surely did not reach the vendor (the breaker was open): safe to retry any action. */
export const NOT_SENT = new WeakSet<Error>();

export interface CoalesceSettings {
  /** How long the first call of a batch waits for others (default 200 ms). */
  readonly windowMs: number;
  /** Most calls per request, on top of the connector's own limit (default 500). */
  readonly max: number;
}

export const COALESCE_DEFAULTS: CoalesceSettings = { windowMs: 200, max: 500 };

interface Member {
  readonly item: BatchItem<unknown>;
  resolve(v: Record<string, unknown>): void;
  reject(e: unknown): void;
}

interface Pending {
  readonly connector: string;
  readonly spec: BatchSpec<unknown, unknown>;
  readonly client: unknown;
  readonly timeoutMs: number;
  readonly members: Member[];
  timer?: NodeJS.Timeout;
}

export class Batcher {
  private readonly settings: CoalesceSettings;
  private readonly rateLimit: (connector: string) => Promise<void>;
  private readonly breaker: (connector: string) => CircuitBreaker | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Vendor requests sent, by `connector.action` (for metrics and tests). */
  readonly requests = new Map<string, number>();

  constructor(opts: {
    settings?: Partial<CoalesceSettings>;
    rateLimit: (connector: string) => Promise<void>;
    breaker: (connector: string) => CircuitBreaker | undefined;
  }) {
    this.settings = { ...COALESCE_DEFAULTS, ...opts.settings };
    this.rateLimit = opts.rateLimit;
    this.breaker = opts.breaker;
  }

  /** Queues one call; resolves with its own result once its batch is answered. */
  submit(
    connector: string,
    action: string,
    spec: BatchSpec<unknown, unknown>,
    client: unknown,
    item: BatchItem<unknown>,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const key = `${connector}.${action}`;
    return new Promise((resolve, reject) => {
      let p = this.pending.get(key);
      if (!p) {
        p = { connector, spec, client, timeoutMs, members: [] };
        this.pending.set(key, p);
        const batch = p;
        p.timer = setTimeout(() => this.flush(key, batch), this.settings.windowMs);
      }
      p.members.push({ item, resolve, reject });
      if (p.members.length >= Math.max(1, Math.min(spec.max, this.settings.max))) this.flush(key, p);
    });
  }

  private flush(key: string, p: Pending): void {
    if (this.pending.get(key) !== p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    void this.send(key, p);
  }

  private async send(key: string, p: Pending): Promise<void> {
    const { members } = p;
    const breaker = this.breaker(p.connector);
    const closedIn = breaker?.admit() ?? 0;
    if (closedIn > 0) {
      const e = new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `${p.connector} circuit breaker is open`, {
        retryAfterMs: closedIn,
      });
      NOT_SENT.add(e);
      for (const m of members) m.reject(e);
      return;
    }
    try {
      try {
        await this.rateLimit(p.connector);
      } catch (e) {
        breaker?.abandoned();
        throw e;
      }
      this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
      let results: ReadonlyArray<Record<string, unknown> | Error>;
      try {
        results = await p.spec.run(
          p.client,
          members.map((m) => m.item),
          AbortSignal.timeout(p.timeoutMs),
        );
        breaker?.succeeded();
      } catch (e) {
        const code = e instanceof RiposteError ? e.code : "RIPOSTE_CONNECTOR_UNAVAILABLE";
        if (BREAKER_CODES.has(code)) breaker?.failed();
        else breaker?.succeeded();
        throw e;
      }
      if (results.length !== members.length)
        throw new RiposteError(
          "RIPOSTE_CONNECTOR_REJECTED",
          `${key}: the connector answered ${results.length} results for ${members.length} calls`,
        );
      results.forEach((r, i) => {
        const m = members[i] as Member;
        if (r instanceof Error) m.reject(r);
        else m.resolve(r);
      });
    } catch (e) {
      for (const m of members) m.reject(e instanceof Error ? e : new Error(messageOf(e)));
    }
  }
}
