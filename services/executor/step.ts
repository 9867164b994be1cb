/**
 * One playbook step, once its action is claimed: the guards (kill switch, decision age, protected assets, lease,
 * budgets, the target's containment lock), then the vendor conversation (resolve the target, check what the vendor
 * resolved, verify after an attempt of unknown outcome, call), each vendor request behind the connector's circuit
 * breaker and shared rate limit, with the step's timeout and retry policy.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { targetKey, type Decision, type PlaybookStep, type Target } from "../../schemas/index.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import { SpanKind, contextFrom, inSpan, tracesExported, ATTR } from "../shared/telemetry.ts";
import type { AuditStatus } from "./audit.ts";
import type { ActionDescriptor, ConnectorDescriptor, ResolvedTarget } from "./connectors/index.ts";
import type { Guards } from "./guards.ts";
import type { Claim } from "./ledger.ts";
import { Batcher, NOT_SENT, type CoalesceSettings } from "./batcher.ts";
import { Leases, type LeaseDoc } from "./leases.ts";
import { BREAKER_CODES } from "./limits.ts";
import { parse } from "../../schemas/fast-parse.ts";

export interface Bound {
  readonly descriptor: ConnectorDescriptor;
  readonly client: unknown;
  readonly dryRun: boolean;
  /** Why the step runs dry when the connector is configured (RIPOSTE_DRY_RUN, the playbook's dry_run). */
  readonly dryReason?: string;
}

export interface StepOutcome {
  readonly status: AuditStatus;
  readonly attempts: number;
  readonly response?: Record<string, unknown>;
  readonly error?: { code: string; message: string };
  /** Not terminal: the claim is released instead of completed, so the decision can run the step again later. */
  readonly release?: boolean;
}

export interface StepContext {
  readonly decision: Decision;
  readonly step: PlaybookStep;
  readonly actionId: string;
  /** The step's rendered params, or why they could not be rendered. */
  readonly params: { readonly value: Record<string, unknown> } | { readonly error: unknown };
  readonly claim: Claim;
  /** When a person approved the step (its approval gate's verdict): the decision's age is judged from then. */
  readonly approvedAt?: number;
}

export interface StepDeps {
  readonly state: StateStore;
  readonly statePrefix: string;
  readonly guards: Guards;
  readonly log: Logger;
  readonly claimTtlMs: number;
  /** How long the record of an attempt is kept (as long as the completed action's record). */
  readonly doneTtlMs: number;
  /** Waits between attempts (default: a timer; `riposte playbooks test` records the waits instead). */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** The containment leases (in state under `statePrefix` when absent). */
  readonly leases?: Leases;
  /** Coalescing of batched actions (window and most calls per request; the defaults when absent). */
  readonly coalesce?: Partial<CoalesceSettings>;
}

type Tried<T> =
  { readonly value: T; readonly attempts: number } | { readonly error: RiposteError; readonly attempts: number };

const refused = (status: AuditStatus, reason: string, extra: Record<string, unknown> = {}): StepOutcome => ({
  status,
  attempts: 0,
  response: { reason, ...extra },
});

export class StepRunner {
  private readonly deps: StepDeps;
  private readonly leases: Leases;
  /** Batched actions' pending vendor requests (coalescing). */
  readonly batcher: Batcher;

  constructor(deps: StepDeps) {
    this.deps = deps;
    this.leases = deps.leases ?? new Leases({ state: deps.state, prefix: deps.statePrefix });
    this.batcher = new Batcher({
      ...(deps.coalesce ? { settings: deps.coalesce } : {}),
      rateLimit: (connector) => deps.guards.rateLimit(connector),
      breaker: (connector) => deps.guards.breaker(connector),
    });
  }

  async run(bound: Bound, ctx: StepContext): Promise<StepOutcome> {
    const { decision, step } = ctx;
    const { guards } = this.deps;
    const action = bound.descriptor.actions[step.action] as ActionDescriptor<unknown>;
    let input: unknown;
    try {
      if ("error" in ctx.params) throw ctx.params.error;
      input = parse(action.input, ctx.params.value);
    } catch (e) {
      return {
        status: "failed",
        attempts: 0,
        error: { code: isRiposteError(e) ? e.code : "RIPOSTE_CONNECTOR_REJECTED", message: messageOf(e) },
      };
    }
    // Guards hold back containment; undoing one (lift, unblock, unsuspend) always goes through.
    const containment = action.classification === "containment" && action.lifts !== true;
    if (containment) {
      const ks = await guards.killSwitch();
      if (ks.on) {
        return {
          ...refused("paused", `containment is paused by the kill switch (${ks.config ? "configuration" : "API"})`, {
            kill_switch: ks,
          }),
          release: true,
        };
      }
      const stale = guards.stale(decision, ctx.approvedAt);
      if (stale)
        return refused("refused_stale", stale, {
          decision_time: decision.time,
          ...(ctx.approvedAt !== undefined ? { approved_at: ctx.approvedAt } : {}),
        });
      const prot = decision.target && guards.protectedTarget(decision.target);
      if (prot) return refused("refused_protected", prot);
    }
    // One containment per target and action for the lease's TTL, whichever rule asks: held before the call, a
    // lease (with the reverse action to run when it ends) once the call succeeded.
    const field = step.lease && decision.target ? Leases.field(decision.target, step.connector, step.action) : "";
    if (field && step.lease) {
      const held = await this.leases.hold(field, decision.id, step.lease.ttl);
      // Its own lease (the run died after opening it, before completing): go on, the attempt is verified.
      if (held.state !== "acquired" && held.by !== `L|${Leases.idOf(ctx.actionId)}`) {
        return refused(
          "skipped_lease",
          `${step.connector}.${step.action} already ran on this target within its lease`,
          { lease_owner: held.by.replace(/^[LP]\|/, "").replace(/\|\d+$/, "") },
        );
      }
    }
    const releaseLease = async () => {
      if (field) await this.leases.drop(field, decision.id).catch(() => false);
    };
    const subject = {
      rule: decision.rule?.id,
      classification: action.classification,
      connector: step.connector,
      action: step.action,
    };
    const budgets: Awaited<ReturnType<typeof guards.takeBudgets>> =
      containment || action.classification !== "containment"
        ? await guards.takeBudgets(ctx.actionId, subject)
        : { taken: [] };
    if (budgets.refused) {
      await releaseLease();
      const { spec, count } = budgets.refused;
      return refused(
        "refused_budget",
        `budget ${spec.text} is spent (${count} within the window): the action was not sent (RIPOSTE_BUDGETS)`,
        { budget: spec.text, count },
      );
    }
    let lock: string | undefined;
    try {
      if (containment && decision.target) {
        lock = await guards.lockTarget(targetKey(decision.target), ctx.claim.owner, this.deps.claimTtlMs, step.timeout);
        ctx.claim.hold(lock);
      }
      const { outcome, sent } = await this.converse(bound, action, ctx, input);
      if (!sent) await guards.releaseBudgets(ctx.actionId, budgets.taken).catch(() => undefined);
      if (!sent || outcome.status === "failed") await releaseLease();
      if (field && outcome.status === "succeeded") return await this.openLease(action, ctx, input, field, outcome);
      return outcome;
    } catch (e) {
      // Nothing reached the vendor (the conversation never throws once it may have): give the places back.
      await guards.releaseBudgets(ctx.actionId, budgets.taken).catch(() => undefined);
      await releaseLease();
      throw e;
    } finally {
      if (lock) {
        ctx.claim.unhold(lock);
        await guards.unlockTarget(lock, ctx.claim.owner);
      }
    }
  }

  /**
   * Opens the lease of a containment that succeeded, retrying in place while the store blips (the vendor has
   * acted: the lease is what lifts it later). If it still cannot be stored the outcome says so, for a person.
   */
  private async openLease(
    action: ActionDescriptor<unknown>,
    ctx: StepContext,
    input: unknown,
    field: string,
    outcome: StepOutcome,
  ): Promise<StepOutcome> {
    const { decision, step } = ctx;
    const ttl = step.lease?.ttl ?? 0;
    const reverse = action.reverse ? { action: action.reverse, input: reverseInput(action, input, ctx) } : undefined;
    const doc: LeaseDoc = {
      id: Leases.idOf(ctx.actionId),
      field,
      target: decision.target as Target,
      connector: step.connector,
      action: step.action,
      ...(reverse ? { reverse } : {}),
      ...(decision.rule ? { rule_id: decision.rule.id } : {}),
      decision_id: decision.id,
      playbook: decision.playbook ?? "",
      step: step.id,
      alert_uid: decision.alert.uid,
      action_id: ctx.actionId,
      since: this.leases.now(),
      ttl_ms: ttl,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const open = await this.leases.open(doc, decision.id);
        const lease = open
          ? {
              id: doc.id,
              expires: new Date(doc.since + ttl).toISOString(),
              ...(reverse ? { reverse: reverse.action } : {}),
            }
          : { error: "another lease holds this target now: nothing will lift this containment by itself" };
        if (!open) this.deps.log.error({ action_id: ctx.actionId, field }, "lease not opened: the target is held");
        return { ...outcome, response: { ...outcome.response, lease } };
      } catch (e) {
        if (attempt < 5 && isRiposteError(e) && e.retriable) {
          await sleep(50 * 2 ** (attempt - 1));
          continue;
        }
        const message = `the lease could not be stored (${messageOf(e)}): nothing will lift this containment by itself; ${reverse ? `run ${step.connector}.${reverse.action} by hand when it should end` : "lift it by hand"}`;
        this.deps.log.error({ action_id: ctx.actionId, err: messageOf(e) }, "lease not stored");
        return { ...outcome, response: { ...outcome.response, lease: { error: message } } };
      }
    }
  }

  /**
   * The vendor conversation. `sent` is false when the action surely did not reach the vendor (refused, dry run,
   * failed before the call), so its budget places are given back.
   */
  private async converse(
    bound: Bound,
    action: ActionDescriptor<unknown>,
    ctx: StepContext,
    input: unknown,
  ): Promise<{ outcome: StepOutcome; sent: boolean }> {
    const { step } = ctx;
    if (bound.dryRun) {
      return {
        sent: false,
        outcome: refused(
          "dry_run",
          bound.dryReason ??
            `${step.connector} is not configured: set RIPOSTE_CONNECTOR_${step.connector.toUpperCase()}_URL and its credentials`,
        ),
      };
    }
    let attempts = 0;
    let resolved: ResolvedTarget | undefined;
    if (action.resolve) {
      const resolve = action.resolve.bind(action);
      const r = await this.attempt(bound, step, "resolve", true, (signal) => resolve(bound.client, { input, signal }));
      attempts += r.attempts;
      if ("error" in r) return { sent: false, outcome: failed(r.error, attempts) };
      resolved = r.value;
      // A protected asset is never contained; releasing one (a lift) is always allowed.
      const prot = action.lifts === true ? undefined : this.deps.guards.protectedResolved(resolved);
      if (prot)
        return {
          sent: false,
          outcome: { ...refused("refused_protected", prot, { resolved: resolved.detail }), attempts },
        };
    }
    // Counted right before the call: a count above 1 means an earlier owner got this far and never recorded how
    // its call ended (it died, or lost its claim), so the vendor may already have acted.
    const { state, statePrefix, doneTtlMs } = this.deps;
    const entity = ctx.decision.target ? targetKey(ctx.decision.target) : ctx.decision.alert.entity_key;
    const began = await state.seen(stateKey(statePrefix, entity, "attempt", ctx.actionId), doneTtlMs);
    if (began > 1) {
      const unknown = `an earlier attempt of this action (${began - 1}) may have reached the vendor and recorded no outcome`;
      this.deps.log.warn({ action_id: ctx.actionId }, unknown);
      let verified: Tried<{ done: boolean; response: Record<string, unknown> }> | undefined;
      if (action.verify) {
        const verify = action.verify.bind(action);
        verified = await this.attempt(bound, step, "verify", true, (signal) =>
          verify(bound.client, { input, signal, resolved }),
        );
        attempts += verified.attempts;
        if ("value" in verified && verified.value.done) {
          return {
            sent: true,
            outcome: {
              status: "succeeded",
              attempts,
              response: {
                ...verified.value.response,
                note: `${unknown}; the vendor shows it in place: not sent again`,
              },
            },
          };
        }
      }
      const absent = verified !== undefined && "value" in verified;
      if (!absent && !action.idempotent) {
        return {
          sent: true,
          outcome: {
            status: "unknown_outcome",
            attempts,
            response: {
              reason: `${unknown}; ${step.action} is not idempotent and ${action.verify ? "the vendor could not be asked" : "the connector cannot verify it"}: check by hand, it is not sent again`,
            },
          },
        };
      }
    }
    const run = action.run.bind(action);
    const batch = action.batch;
    // A batched action joins the other calls of the window in one vendor request (one rate-limit token for all).
    const c = await this.attempt(
      bound,
      step,
      "run",
      action.idempotent,
      batch
        ? () => this.batcher.submit(step.connector, step.action, batch, bound.client, { input, resolved }, step.timeout)
        : (signal) => run(bound.client, { input, signal, resolved }),
      batch !== undefined,
    );
    attempts += c.attempts;
    if ("error" in c) return { sent: true, outcome: failed(c.error, attempts) };
    return { sent: true, outcome: { status: "succeeded", attempts, response: c.value } };
  }

  /**
   * One vendor operation with the step's timeout and retry policy, behind the connector's circuit breaker and
   * shared rate limit. Retry-After and an open breaker are waited out. A non-idempotent operation is retried only
   * when the vendor surely did not act (rate limited, breaker open).
   */
  private async attempt<T>(
    bound: Bound,
    step: PlaybookStep,
    what: string,
    idempotent: boolean,
    fn: (signal: AbortSignal) => Promise<T>,
    batched = false,
  ): Promise<Tried<T>> {
    const { guards } = this.deps;
    const breaker = guards.breaker(step.connector);
    let last: RiposteError | undefined;
    for (let attempt = 1; ; attempt++) {
      let notSent = false;
      // A batched call's breaker and rate limit are the batcher's: they judge vendor requests, not calls.
      const closedIn = batched ? 0 : (breaker?.admit() ?? 0);
      if (closedIn > 0) {
        notSent = true;
        last = new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `${step.connector} circuit breaker is open`, {
          retryAfterMs: closedIn,
        });
      } else {
        try {
          // A local connector (the EDL) calls no vendor: nothing to be polite to.
          if (!batched && bound.descriptor.local !== true) await guards.rateLimit(step.connector);
        } catch (e) {
          if (isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_RATE_LIMITED") {
            breaker?.abandoned();
            last = e;
            notSent = true;
          } else {
            // The shared bucket is unreachable (a state blip): the rate limit is politeness, so it fails open
            // rather than abandon a conversation whose earlier attempt may already have reached the vendor.
            this.deps.log.warn({ connector: step.connector, err: messageOf(e) }, "rate limit unavailable; calling");
          }
        }
      }
      if (!notSent) {
        try {
          // A batched call's timeout is its batch request's (the batcher's own signal): none made here.
          const call = () => fn(batched ? NO_SIGNAL : AbortSignal.timeout(step.timeout));
          // The operation's span only when spans leave the process: else it would be ids nobody reads (the
          // vendor's requests still carry the step's trace).
          const value = tracesExported()
            ? await inSpan(
                `${step.connector}.${step.action}${what === "run" ? "" : ` ${what}`}`,
                contextFrom({}),
                { [ATTR.connector]: step.connector, [ATTR.connectorAction]: step.action },
                call,
                SpanKind.CLIENT,
              )
            : await call();
          if (!batched) breaker?.succeeded();
          return { value, attempts: attempt };
        } catch (e) {
          last = isRiposteError(e) ? e : new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", messageOf(e), { cause: e });
          if (batched) {
            /* the batcher judged the request */
          } else if (BREAKER_CODES.has(last.code)) breaker?.failed();
          else if (last.code === "RIPOSTE_CONNECTOR_RATE_LIMITED") breaker?.abandoned();
          else breaker?.succeeded();
          notSent = last.code === "RIPOSTE_CONNECTOR_RATE_LIMITED" || (e instanceof Error && NOT_SENT.has(e));
        }
      }
      const err = last as RiposteError;
      if (!err.retriable || (!idempotent && !notSent) || attempt > step.retry.max)
        return { error: err, attempts: attempt };
      // Exponential backoff with equal jitter (half fixed, half random, so retrying executors spread out); a
      // server's Retry-After is waited out in full.
      const backoff = step.retry.backoff * 2 ** (attempt - 1);
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      await (this.deps.sleep ?? sleep)(Math.min(60_000, Math.max(jittered, err.retryAfterMs ?? 0)));
    }
  }
}

/** The signal a batched call is given: never aborted (its vendor request has the batch's timeout). */
const NO_SIGNAL = new AbortController().signal;

/** The reverse action's input: what the action declares, else the step's own params. */
function reverseInput(action: ActionDescriptor<unknown>, input: unknown, ctx: StepContext): Record<string, unknown> {
  if (action.reverseInput) return action.reverseInput(input);
  return "value" in ctx.params ? ctx.params.value : {};
}

function failed(e: RiposteError, attempts: number): StepOutcome {
  return { status: "failed", attempts, error: { code: e.code, message: e.message } };
}
