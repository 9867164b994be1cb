/**
 * The action ledger: claims in shared state that make each vendor call happen effectively once.
 *
 * An action's claim is taken with a short TTL and kept alive by a heartbeat while its step runs, so a claim whose
 * owner died (kill -9, a lost host) frees within one TTL instead of stalling the partition for the whole step's
 * worst case. Completing the claim (storing the audit record with it) is retried in place when the store blips;
 * if it still fails, the result stays in this process's memory and the redelivered decision completes it from
 * there, without calling the vendor again.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { StateStore } from "../shared/state/index.ts";

export interface LedgerOptions {
  readonly state: StateStore;
  readonly log: Logger;
  /** TTL of a pending claim; renewed every third of it while the owner is alive. */
  readonly claimTtlMs: number;
  /** How long a completed action's record is kept, so replays within it are recognised. */
  readonly doneTtlMs: number;
  /** Attempts at completing a claim in place before the result is kept in memory (default 5). */
  readonly completeAttempts?: number;
}

export type Begun =
  | { readonly kind: "done"; readonly result: string }
  | { readonly kind: "acquired"; readonly claim: Claim }
  /** This process ran the action but could not complete its claim: the result is here, the claim retaken. */
  | { readonly kind: "unfinished"; readonly claim: Claim; readonly result: string };

export class Ledger {
  readonly opts: LedgerOptions;
  /** Results this process could not store, by claim key, with the owner token that holds the claim. */
  readonly unfinished = new Map<string, { owner: string; result: string }>();
  /** The claims held now, all renewed by one heartbeat (a timer per claim costs more than the renewals). */
  private readonly live = new Set<Claim>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(opts: LedgerOptions) {
    this.opts = opts;
  }

  /**
   * Keeps `claim` alive until {@link forget}: renewed every third of the TTL at most, however soon after a beat it
   * was taken, so a live owner's claim never expires.
   */
  watch(claim: Claim): void {
    this.live.add(claim);
    if (this.heartbeat) return;
    this.heartbeat = setInterval(
      () => {
        for (const c of this.live) c.renew();
      },
      Math.max(10, Math.floor(this.opts.claimTtlMs / 3)),
    );
    this.heartbeat.unref();
  }

  forget(claim: Claim): void {
    this.live.delete(claim);
    if (this.live.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  /** Claims an action; throws a retriable error when another owner holds it (the decision is redelivered). */
  async begin(key: string, actionId: string): Promise<Begun> {
    const kept = this.unfinished.get(key);
    const owner = kept?.owner ?? randomUUID();
    const r = await this.opts.state.claim(key, owner, this.opts.claimTtlMs);
    if (r.state !== "acquired") this.unfinished.delete(key);
    if (r.state === "done") return { kind: "done", result: r.result };
    if (r.state === "held")
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", `action ${actionId} is in progress elsewhere; will retry`);
    const claim = new Claim(this, key, owner);
    return kept ? { kind: "unfinished", claim, result: kept.result } : { kind: "acquired", claim };
  }
}

/** A pending claim this process holds, kept alive until completed or released. */
export class Claim {
  readonly key: string;
  readonly owner: string;
  private readonly ledger: Ledger;
  /** Other claims of the same owner kept alive with this one (the target's containment lock). */
  private held: Set<string> | undefined;
  private lost = false;

  constructor(ledger: Ledger, key: string, owner: string) {
    this.ledger = ledger;
    this.key = key;
    this.owner = owner;
    ledger.watch(this);
  }

  /** Keeps another claim of the same owner alive with this one (the target's containment lock). */
  hold(key: string): void {
    (this.held ??= new Set()).add(key);
  }

  unhold(key: string): void {
    this.held?.delete(key);
  }

  /** One beat of the heartbeat: the claim and those it holds get a fresh TTL. */
  renew(): void {
    void this.renewAll();
  }

  private async renewAll(): Promise<void> {
    const { state, claimTtlMs, log } = this.ledger.opts;
    for (const key of [this.key, ...(this.held ?? [])]) {
      try {
        const r = await state.claim(key, this.owner, claimTtlMs);
        if (r.state !== "acquired" && key === this.key && !this.lost) {
          this.lost = true;
          log.error({ key }, "action claim lost while its step ran: another executor may act on it");
        }
      } catch {
        // A blip: the next beat tries again; the TTL covers three beats.
      }
    }
  }

  stop(): void {
    this.ledger.forget(this);
  }

  /**
   * Stores the result with the claim, retrying in place (with backoff) while the store blips and the claim is
   * still ours. If it keeps failing, the result is kept in memory for the redelivery and the error is thrown.
   */
  async complete(result: string): Promise<void> {
    const { state, doneTtlMs, log, completeAttempts = 5 } = this.ledger.opts;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          if (!(await state.complete(this.key, this.owner, result, doneTtlMs))) {
            // Expired and possibly taken by another executor: nothing of ours left to complete.
            log.error({ key: this.key }, "action claim expired before completion");
          }
          this.ledger.unfinished.delete(this.key);
          return;
        } catch (e) {
          if (!isRiposteError(e) || !e.retriable || attempt >= completeAttempts) {
            this.ledger.unfinished.set(this.key, { owner: this.owner, result });
            log.warn(
              { key: this.key, err: messageOf(e) },
              "could not store the action's result; kept in memory for the redelivery",
            );
            throw e;
          }
          await sleep(Math.min(1_000, 50 * 2 ** (attempt - 1)));
        }
      }
    } finally {
      this.stop();
    }
  }

  /** Gives the claim up (the action did not reach the vendor); best effort, the TTL frees it otherwise. */
  async release(): Promise<void> {
    this.stop();
    await this.ledger.opts.state.release(this.key, this.owner).catch(() => false);
  }
}
