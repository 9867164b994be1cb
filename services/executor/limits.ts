/**
 * Per-connector call limits: a circuit breaker (in this process: each executor judges the vendor by what it sees)
 * and a token-bucket rate limit in shared state (every executor draws from one bucket per connector), which
 * delays a call rather than failing it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RiposteError } from "../shared/errors.ts";
import type { StateStore } from "../shared/state/index.ts";
import type { BreakerSpec, RateSpec } from "./guard-config.ts";

export type BreakerState = "closed" | "open" | "half_open";

/**
 * Opens after `failures` consecutive failures (5xx, timeouts, network errors), refuses calls for `openMs`, then
 * lets one probe through (half-open): its success closes the breaker, its failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  private readonly spec: Pick<BreakerSpec, "failures" | "openMs">;
  private readonly now: () => number;

  constructor(spec: Pick<BreakerSpec, "failures" | "openMs">, now: () => number = Date.now) {
    this.spec = spec;
    this.now = now;
  }

  get state(): BreakerState {
    if (this.failures < this.spec.failures) return "closed";
    return this.now() < this.openUntil ? "open" : "half_open";
  }

  /** 0 when a call may go now (the probe, when half-open); else how long until the breaker lets one through. */
  admit(): number {
    const state = this.state;
    if (state === "closed") return 0;
    if (state === "open") return this.openUntil - this.now();
    if (this.probing) return Math.max(100, Math.min(1_000, this.spec.openMs));
    this.probing = true;
    return 0;
  }

  /** The vendor answered (a success, or a refusal that says it is up). */
  succeeded(): void {
    this.failures = 0;
    this.probing = false;
  }

  /** The call was not made after all (no rate-limit token): the probe slot is free again. */
  abandoned(): void {
    this.probing = false;
  }

  /** The vendor did not answer usefully (5xx, timeout, network). */
  failed(): void {
    this.failures++;
    this.probing = false;
    if (this.failures >= this.spec.failures) this.openUntil = this.now() + this.spec.openMs;
  }
}

/** Error codes that count against a breaker: the vendor is unreachable or failing, not refusing this request. */
export const BREAKER_CODES = new Set(["RIPOSTE_CONNECTOR_UNAVAILABLE", "RIPOSTE_CONNECTOR_TIMEOUT"]);

/** Longest a call waits for a rate-limit token before the attempt fails as rate limited (and is retried). */
const MAX_TOKEN_WAIT_MS = 60_000;

/**
 * Waiters of this process per bucket, in arrival order: the tail of each key's chain. Only the head of a chain asks
 * the shared bucket; the others wait their turn here. Without it every waiter woke at the time of the next token
 * and asked, so N runs waiting on one connector cost N state calls per token (seen: 2,400 calls a second for a
 * 50-a-second bucket).
 */
const waiting = new WeakMap<StateStore, Map<string, Promise<void>>>();

/** Waits for a token of the connector's shared bucket (delays, does not fail, up to a minute), in arrival order. */
export async function takeToken(
  state: StateStore,
  key: string,
  spec: Pick<RateSpec, "capacity" | "intervalMs">,
  now: () => number,
): Promise<void> {
  const started = now();
  let chains = waiting.get(state);
  if (!chains) waiting.set(state, (chains = new Map<string, Promise<void>>()));
  const ahead = chains.get(key);
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  chains.set(key, mine);
  try {
    if (ahead) await ahead;
    await askBucket(state, key, spec, now, started);
  } finally {
    done();
    if (chains.get(key) === mine) chains.delete(key);
  }
}

async function askBucket(
  state: StateStore,
  key: string,
  spec: Pick<RateSpec, "capacity" | "intervalMs">,
  now: () => number,
  started: number,
): Promise<void> {
  for (;;) {
    const wait = await state.tokenTake(key, now(), spec.capacity, spec.intervalMs);
    if (wait === 0) return;
    if (now() - started + wait > MAX_TOKEN_WAIT_MS)
      throw new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", `no rate-limit token within ${MAX_TOKEN_WAIT_MS} ms`, {
        retryAfterMs: wait,
      });
    // A little jitter so executors that woke together do not all ask at the same instant.
    await sleep(wait + Math.floor(Math.random() * Math.min(20, wait)));
  }
}
