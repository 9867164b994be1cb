/**
 * The lease scheduler, in every executor process: when a lease ends (its expiry, or a release through the API) it
 * runs the lease's reverse action (lift containment, unblock, unsuspend) once across all executors and restarts.
 *
 * Due leases are claimed atomically from a sorted set in state (a claim lapses if its scheduler dies, and another
 * takes the lease over). The reverse call itself goes through the action ledger like any step: its action id is
 * derived from the lease id, claimed before the call and completed with its audit record, so a lease claimed twice
 * (a lapsed claim whose scheduler was only slow) still calls the vendor once. A reverse action that fails
 * retriably is tried again with backoff (same action id: an attempt of unknown outcome is verified first); one a
 * retry cannot fix is parked and shown by `GET /v1/containment` with its error until someone releases it again.
 * Reverse actions are lifts: the kill switch, budgets and staleness never hold them back.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { targetKey, type Decision, type PlaybookStep } from "../../schemas/index.ts";
import { ERRORS, messageOf, type ErrorCode } from "../shared/errors.ts";
import { stableId } from "../shared/ids.ts";
import type { Logger } from "../shared/log.ts";
import { LABEL, type Metrics } from "../shared/metrics.ts";
import { stateKey, type LeaseRow } from "../shared/state/index.ts";
import { contextFrom, headersFor, inSpan, traceIdOf, ATTR } from "../shared/telemetry.ts";
import { AuditRecord } from "./audit.ts";
import type { Ledger } from "./ledger.ts";
import { LeaseDoc, LeaseEnd, parse, type Leases } from "./leases.ts";
import type { Bound, StepOutcome, StepRunner } from "./step.ts";

export interface LeaseSchedulerDeps {
  readonly leases: Leases;
  readonly ledger: Ledger;
  readonly steps: StepRunner;
  readonly bound: (connector: string) => Bound | undefined;
  readonly publish: (record: AuditRecord, entity: string, headers: Record<string, string>) => Promise<void>;
  readonly statePrefix: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** How often due leases are looked for (default 1 s). */
  readonly sweepMs?: number;
  /** How long a scheduler's claim on a due lease lasts before another may take it over (default 60 s). */
  readonly claimMs?: number;
  /** First retry delay of a failed reverse action, doubled per attempt up to 5 minutes (default 1 s). */
  readonly retryMs?: number;
  /** Timeout of one reverse call (default 30 s). */
  readonly timeoutMs?: number;
}

/** Most leases one sweep claims. */
const BATCH = 50;
const MAX_RETRY_MS = 300_000;

export class LeaseScheduler {
  private readonly deps: LeaseSchedulerDeps;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(deps: LeaseSchedulerDeps) {
    this.deps = deps;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((e: unknown) => this.deps.log.warn({ err: messageOf(e) }, "lease sweep failed; trying again"))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.sweepMs ?? 1_000).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Claims the leases due now and runs their reverse actions; returns how many it handled. */
  async sweep(): Promise<number> {
    let handled = 0;
    for (;;) {
      const rows = await this.deps.leases.claimDue(this.deps.claimMs ?? 60_000, BATCH);
      await Promise.all(rows.map((r) => this.end(r)));
      handled += rows.length;
      if (rows.length < BATCH || this.stopped) return handled;
    }
  }

  private async end(row: LeaseRow): Promise<void> {
    const { leases, log } = this.deps;
    const doc = parse(LeaseDoc, row.doc);
    const ended = parse(LeaseEnd, row.end ?? "") ?? { why: "expired" as const, at: this.deps.now() };
    if (!doc) {
      log.error({ lease_id: row.id }, "unreadable lease parked: lift its containment by hand");
      await leases.retry(row.id, 0, { ...ended, parked: true, error: unreadable });
      return;
    }
    if (!doc.reverse) {
      await leases.end(doc);
      return;
    }
    try {
      await this.reverse(doc, doc.reverse, ended);
    } catch (e) {
      // Nothing reached the vendor (the state store blipped, or another scheduler runs this reverse right now):
      // the lease is due again shortly; the ledger makes sure the reverse is sent once.
      log.warn({ lease_id: doc.id, err: messageOf(e) }, "reverse action not run; the lease is due again shortly");
      await leases.retry(doc.id, this.deps.now() + (this.deps.retryMs ?? 1_000), ended).catch(() => undefined);
    }
  }

  private async reverse(doc: LeaseDoc, reverse: NonNullable<LeaseDoc["reverse"]>, ended: LeaseEnd): Promise<void> {
    const { leases, ledger, statePrefix, log, metrics } = this.deps;
    const entity = targetKey(doc.target);
    const actionId = stableId(doc.id, "reverse");
    const key = stateKey(statePrefix, entity, "action", actionId);
    const bound = this.deps.bound(doc.connector);
    const action = bound?.descriptor.actions[reverse.action];
    if (!bound || !action) {
      const error = {
        code: "RIPOSTE_CONNECTOR_UNKNOWN",
        message: `${doc.connector}.${reverse.action} is not loaded in this executor: lift the containment by hand, or release the lease again where it is`,
      };
      log.error({ lease_id: doc.id, ...error }, "reverse action unknown; lease parked");
      await leases.retry(doc.id, 0, { ...ended, parked: true, error });
      return;
    }
    const begun = await ledger.begin(key, actionId);
    if (begun.kind !== "acquired") {
      // Done already (a lapsed claim taken over after the call): the stored record is published again.
      if (begun.kind === "unfinished") await begun.claim.complete(begun.result);
      const stored = parse(AuditRecord, begun.result);
      if (stored) await this.deps.publish(stored, entity, {});
      await leases.end(doc);
      return;
    }
    const { claim } = begun;
    const started = this.deps.now();
    const step: PlaybookStep = {
      id: `${doc.step}.reverse`,
      connector: doc.connector,
      action: reverse.action,
      params: {},
      timeout: this.deps.timeoutMs ?? 30_000,
      retry: { max: 0, backoff: 1 },
      on_failure: "abort",
    };
    const decision: Decision = {
      id: doc.id,
      outcome: "respond",
      time: started,
      alert: {
        uid: doc.alert_uid,
        fingerprint: "",
        entity_key: entity,
        class_uid: 0,
        title: `lease ${doc.id} ended (${ended.why})`,
        source: "riposte",
        severity_id: 0,
        time: started,
      },
      playbook: doc.playbook,
      target: doc.target,
    };
    await inSpan(
      `lease ${doc.id} reverse`,
      contextFrom({}),
      { [ATTR.actionId]: actionId, [ATTR.connector]: doc.connector, [ATTR.connectorAction]: reverse.action },
      async (span) => {
        let outcome: StepOutcome;
        try {
          outcome = await this.deps.steps.run(bound, {
            decision,
            step,
            actionId,
            params: { value: reverse.input },
            claim,
          });
        } catch (e) {
          await claim.release();
          throw e;
        }
        const attempts = (ended.attempts ?? 0) + 1;
        const done = outcome.status === "succeeded" || outcome.status === "dry_run";
        const retriable = outcome.error !== undefined && isRetriable(outcome.error.code);
        const retryAt = done || !retriable ? undefined : started + backoff(this.deps.retryMs ?? 1_000, attempts);
        const record: AuditRecord = {
          // A failed attempt has its own id (consumers de-duplicate by id); the one that completes, the action's.
          id: done ? actionId : stableId(doc.id, "reverse", `attempt-${attempts}`),
          decision_id: doc.decision_id,
          playbook: doc.playbook,
          step: step.id,
          connector: doc.connector,
          action: reverse.action,
          classification: action.classification,
          status: outcome.status,
          target: doc.target,
          attempts: outcome.attempts,
          started,
          finished: this.deps.now(),
          request: reverse.input,
          response: {
            ...outcome.response,
            lease: {
              id: doc.id,
              why: ended.why,
              ...(ended.by !== undefined ? { by: ended.by } : {}),
              ...(done ? {} : retryAt !== undefined ? { retry_at: new Date(retryAt).toISOString() } : { parked: true }),
            },
          },
          ...(outcome.error ? { error: outcome.error } : {}),
          ...(doc.rule_id !== undefined ? { rule_id: doc.rule_id } : {}),
          alert_uid: doc.alert_uid,
          trace_id: traceIdOf(span),
          lease_id: doc.id,
        };
        if (done) {
          await claim.complete(JSON.stringify(record));
          await this.deps.publish(record, entity, headersFor(span));
          await leases.end(doc);
          metrics.count("riposte_actions_total", {
            [LABEL.connector]: doc.connector,
            [LABEL.action]: reverse.action,
            [LABEL.outcome]: outcome.status,
          });
          log.info({ lease_id: doc.id, action_id: actionId, status: outcome.status }, "lease ended: reversed");
          return;
        }
        // Not done: the claim is given up so the same action is tried again (the attempt counter makes an attempt
        // of unknown outcome be verified, or resent only when idempotent).
        await claim.release();
        await this.deps.publish(record, entity, headersFor(span));
        const error = outcome.error ?? {
          code: "RIPOSTE_EXECUTION_FAILED",
          message: `${outcome.status}: ${JSON.stringify(outcome.response?.["reason"] ?? "")}`,
        };
        const { parked: _parked, retry_at: _retry, ...base } = ended;
        await leases.retry(doc.id, retryAt ?? 0, {
          ...base,
          attempts,
          error,
          ...(retryAt !== undefined ? { retry_at: retryAt } : { parked: true }),
        });
        metrics.count("riposte_actions_total", {
          [LABEL.connector]: doc.connector,
          [LABEL.action]: reverse.action,
          [LABEL.outcome]: outcome.status,
        });
        log.error(
          { lease_id: doc.id, action_id: actionId, attempts, error, retry_at: retryAt },
          retryAt !== undefined
            ? "reverse action failed; it will be tried again"
            : "reverse action failed and a retry cannot fix it: lift the containment by hand, then release the lease again",
        );
      },
    );
  }

  /** Waits until no lease is due (tests). */
  async drain(limitMs = 10_000): Promise<void> {
    const end = this.deps.now() + limitMs;
    while ((await this.sweep()) > 0 && this.deps.now() < end) await sleep(1);
  }
}

const unreadable = { code: "RIPOSTE_STATE_SCRIPT", message: "the stored lease is unreadable" };

function isRetriable(code: string): boolean {
  return code in ERRORS ? ERRORS[code as ErrorCode].retriable : true;
}

function backoff(baseMs: number, attempts: number): number {
  const ms = Math.min(MAX_RETRY_MS, baseMs * 2 ** (attempts - 1));
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}
