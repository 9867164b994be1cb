/**
 * The executor: decisions → playbook steps → connector calls, each audited on riposte.actions.
 * Effectively once: an action's id is (decision id, step), claimed in state before the call (ledger.ts); a
 * replayed decision finds the claim completed and does nothing. Guards (guards.ts, step.ts) hold containment back
 * whatever a rule says: kill switch, decision age, protected assets, budgets, one containment per target at a
 * time, per-connector rate limits and circuit breakers.
 */
import { Decision, OUTCOME_HEADER, targetKey, type PlaybookFile, type PlaybookStep } from "../../schemas/index.ts";
import { inKeyOrder, type Bus, type InMessage } from "../shared/bus/index.ts";
import type { ConnectorConfig, TopicNames } from "../shared/config.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import { stableId } from "../shared/ids.ts";
import type { Logger } from "../shared/log.ts";
import { LABEL, type Metrics } from "../shared/metrics.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import {
  ATTR,
  SpanKind,
  activeHeaders,
  contextFrom,
  headersFor,
  inSpan,
  processAttributes,
  traceIdOf,
  type Context,
} from "../shared/telemetry.ts";
import { renderAll } from "../shared/template.ts";
import { AuditRecord, GUARD_STATUSES, type AuditStatus } from "./audit.ts";
import { ApprovalGates, type Gate, type Granted } from "./approval-gates.ts";
import { redactUrls, type ConnectorDescriptor } from "./connectors/index.ts";
import { observeVendorCalls } from "./connectors/http.ts";
import { Guards, defaultGuardSettings } from "./guards.ts";
import type { CoalesceSettings } from "./batcher.ts";
import { LeaseScheduler } from "./lease-scheduler.ts";
import { Leases } from "./leases.ts";
import { Ledger } from "./ledger.ts";
import { StepRunner, type Bound, type StepContext, type StepOutcome } from "./step.ts";

/** How long a completed action's record is kept, so replays within it are recognised. */
const DONE_TTL_MS = 7 * 86_400_000;

export interface ExecutorDeps {
  readonly bus: Bus;
  readonly state: StateStore;
  readonly topics: TopicNames;
  readonly playbooks: ReadonlyMap<string, PlaybookFile>;
  readonly connectors: readonly ConnectorDescriptor[];
  readonly connectorConfig: Readonly<Record<string, ConnectorConfig>>;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly statePrefix: string;
  /** The consumer group it runs in, for its spans. */
  readonly consumerGroup?: string;
  readonly now?: () => number;
  /** The safety guards (budgets, kill switch, protected assets, ...); the defaults with nothing protected if absent. */
  readonly guards?: Guards;
  /** TTL of a pending action claim, renewed by a heartbeat while the step runs (default 15 s). */
  readonly claimTtlMs?: number;
  /** How often the approval sweep expires approvals and resumes lost verdicts (default 5 s; see start()). */
  readonly approvalSweepMs?: number;
  /** How old a verdict must be before the sweep resumes it itself instead of the topic's consumer (default 10 s). */
  readonly approvalGraceMs?: number;
  /** How often the lease scheduler looks for ended leases, and its first retry delay (default 1 s each). */
  readonly leaseSweepMs?: number;
  readonly leaseRetryMs?: number;
  /** Coalescing of batched actions (IP blocks): window and most calls per vendor request (200 ms, 500). */
  readonly coalesce?: Partial<CoalesceSettings>;
}

export class Executor {
  private readonly deps: ExecutorDeps;
  private readonly now: () => number;
  private readonly bound = new Map<string, Bound>();
  /** The guards in force (the API's kill-switch routes use them too). */
  readonly guards: Guards;
  private readonly ledger: Ledger;
  private readonly steps: StepRunner;
  /** Approval gates: pending approvals in state, verdicts from `<prefix>.approvals` and the expiry sweep. */
  readonly gates: ApprovalGates;
  /** Containment leases, and the scheduler that runs their reverse actions when they end (lease-scheduler.ts). */
  readonly leases: Leases;
  readonly leaseScheduler: LeaseScheduler;

  constructor(deps: ExecutorDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    observeVendorCalls((vendor, method, status, seconds) =>
      deps.metrics.observe("riposte_vendor_call_seconds", seconds, {
        [LABEL.connector]: vendor,
        [LABEL.method]: method,
        [LABEL.status]: status,
      }),
    );
    this.guards =
      deps.guards ??
      new Guards({ state: deps.state, prefix: deps.statePrefix, settings: defaultGuardSettings(), now: this.now });
    const claimTtlMs = deps.claimTtlMs ?? 15_000;
    this.ledger = new Ledger({ state: deps.state, log: deps.log, claimTtlMs, doneTtlMs: DONE_TTL_MS });
    this.leases = new Leases({ state: deps.state, prefix: deps.statePrefix, now: this.now });
    this.steps = new StepRunner({
      leases: this.leases,
      ...(deps.coalesce ? { coalesce: deps.coalesce } : {}),
      state: deps.state,
      statePrefix: deps.statePrefix,
      guards: this.guards,
      log: deps.log,
      claimTtlMs,
      doneTtlMs: DONE_TTL_MS,
    });
    const env = { state: deps.state, statePrefix: deps.statePrefix, now: this.now };
    for (const d of deps.connectors) {
      const cfg = deps.connectorConfig[d.name];
      const url = d.local ? "" : cfg && !cfg.dryRun ? cfg.url : undefined;
      this.bound.set(d.name, {
        descriptor: d,
        client: url === undefined ? undefined : d.client(url, cfg?.credentials ?? {}, env),
        dryRun: url === undefined,
      });
    }
    this.checkPlaybooks();
    this.gates = new ApprovalGates({
      state: deps.state,
      prefix: deps.statePrefix,
      log: deps.log,
      now: this.now,
      sweepMs: deps.approvalSweepMs ?? 5_000,
      ...(deps.approvalGraceMs !== undefined ? { graceMs: deps.approvalGraceMs } : {}),
      resume: (decision, playbook, index, granted) => this.runPlaybook(decision, playbook, index, granted),
      plan: (decision, step) => this.plan(decision, step),
    });
    this.leaseScheduler = new LeaseScheduler({
      leases: this.leases,
      ledger: this.ledger,
      steps: this.steps,
      bound: (connector) => this.bound.get(connector),
      publish: (record, entity, headers) => this.publishAudit(record, entity, headers),
      statePrefix: deps.statePrefix,
      log: deps.log,
      metrics: deps.metrics,
      now: this.now,
      ...(deps.leaseSweepMs !== undefined ? { sweepMs: deps.leaseSweepMs } : {}),
      ...(deps.leaseRetryMs !== undefined ? { retryMs: deps.leaseRetryMs } : {}),
    });
  }

  /** Starts the approval sweep (expiry, lost verdicts) and the lease scheduler; `stop` ends them. */
  start(): void {
    this.gates.start();
    this.leaseScheduler.start();
  }

  async stop(): Promise<void> {
    await this.gates.stop();
    await this.leaseScheduler.stop();
  }

  /** Handles one batch from `<prefix>.approvals`: each verdict resumes (or ends) the run waiting for it. */
  readonly handleApprovals = (messages: readonly InMessage[]): Promise<void> => this.gates.handle(messages);

  /** Fails at start if a playbook names a connector or action that does not exist. */
  private checkPlaybooks(): void {
    const problems: string[] = [];
    for (const pb of this.deps.playbooks.values()) {
      for (const s of pb.steps) {
        const c = this.bound.get(s.connector);
        if (!c) problems.push(`playbook ${pb.id} step ${s.id}: unknown connector "${s.connector}"`);
        else if (!c.descriptor.actions[s.action])
          problems.push(`playbook ${pb.id} step ${s.id}: ${s.connector} has no action "${s.action}"`);
      }
    }
    if (problems.length)
      throw new RiposteError("RIPOSTE_PLAYBOOK_UNKNOWN", `invalid playbooks:\n  - ${problems.join("\n  - ")}`);
  }

  /** Handles one batch from riposte.decisions, in order. */
  readonly handle = async (messages: readonly InMessage[]): Promise<void> => {
    await inKeyOrder(messages, (m) => this.one(m));
    const done = Date.now();
    for (const m of messages)
      this.deps.metrics.observe("riposte_stage_seconds", (done - m.timestamp) / 1000, { [LABEL.stage]: "execute" });
  };

  /** Runs the playbook of one decision message (messages with the same target key run one at a time). */
  private async one(m: InMessage): Promise<void> {
    // Most decisions are not to respond (no match, duplicate, suppressed): skipped without parsing them.
    const said = m.headers[OUTCOME_HEADER];
    if (said !== undefined && said !== "respond") return;
    const parent = contextFrom(m.headers);
    let decision: Decision;
    try {
      decision = Decision.parse(JSON.parse(m.value.toString("utf8")));
    } catch (e) {
      await this.deadLetter(m, "RIPOSTE_SCHEMA_INVALID", `not a decision: ${messageOf(e)}`, parent);
      return;
    }
    if (decision.outcome !== "respond" || !decision.playbook) return;
    this.deps.metrics.inc("executor_decisions_total");
    const playbook = this.deps.playbooks.get(decision.playbook);
    if (!playbook) {
      await this.deadLetter(
        m,
        "RIPOSTE_PLAYBOOK_UNKNOWN",
        `decision ${decision.id} names playbook "${decision.playbook}", which is not loaded`,
        parent,
      );
      return;
    }
    try {
      await inSpan(
        `playbook ${playbook.id}`,
        parent,
        {
          ...processAttributes(this.deps.bus.kind, this.deps.consumerGroup, m),
          [ATTR.decisionId]: decision.id,
          [ATTR.playbook]: playbook.id,
          ...(decision.rule ? { [ATTR.ruleId]: decision.rule.id } : {}),
        },
        () => this.runPlaybook(decision, playbook),
        SpanKind.CONSUMER,
      );
    } catch (e) {
      // Outages are retried (the batch is redelivered); anything else would block the partition forever.
      if (isRiposteError(e) && e.retriable) throw e;
      this.deps.log.error({ err: messageOf(e), decision_id: decision.id }, "playbook failed; decision dead-lettered");
      await this.deadLetter(m, "RIPOSTE_EXECUTION_FAILED", `playbook ${playbook.id} failed: ${messageOf(e)}`, parent);
    }
  }

  private async deadLetter(m: InMessage, code: string, reason: string, parent: Context): Promise<void> {
    await inSpan("dead-letter", parent, { [ATTR.dlqStage]: "execute", [ATTR.dlqCode]: code }, async (span) => {
      const rec = dlqRecord({
        stage: "execute",
        code,
        reason,
        source: "executor",
        original: m.value,
        time: this.now(),
        traceId: traceIdOf(span),
        origin: { topic: m.topic, partition: m.partition, offset: m.offset },
      });
      await this.deps.bus.publish(this.deps.topics.dlq, [
        { key: m.key, value: JSON.stringify(rec), headers: headersFor(span) },
      ]);
      this.deps.metrics.inc("executor_dead_lettered_total");
    });
  }

  /**
   * Runs a playbook's steps in order from `from`. A step behind an approval gate (its own, or the decision's
   * `approval: required` on the first containment step) is not run: a pending approval is recorded and the run
   * stops there until a verdict resumes it (`granted`) or ends it (approval-gates.ts). Returns true when the
   * granted step was paused by the kill switch (its claim released), so the verdict must be resumed again later.
   */
  private async runPlaybook(decision: Decision, playbook: PlaybookFile, from = 0, granted?: Granted): Promise<boolean> {
    let held = false;
    for (const [index, step] of playbook.steps.entries()) {
      if (index < from) continue;
      const gate = this.gateOf(decision, playbook, index);
      const passed = granted !== undefined && index === from;
      if (passed && granted.verdict.verdict !== "approved" && granted.proceed !== true) {
        const v = granted.verdict;
        await this.once(
          decision,
          step,
          step.id,
          async () => ({
            status: v.verdict === "denied" ? "denied" : "expired",
            attempts: 0,
            response: {
              reason:
                v.verdict === "denied"
                  ? `denied by ${v.by}: the step and the rest of the playbook were not run`
                  : "the approval expired (on_expiry: deny): the step and the rest of the playbook were not run",
            },
          }),
          { approval: granted.audit },
        );
        return false;
      }
      if (gate && !passed) {
        await this.once(decision, step, gate.stepId, async () => this.gates.request(decision, playbook, index, gate));
        return held;
      }
      const outcome = await this.once(
        decision,
        step,
        step.id,
        (ctx) => this.steps.run(this.bound.get(step.connector) as Bound, ctx),
        passed ? { approval: granted.audit } : {},
      );
      if (passed && outcome.status === "paused") held = true;
      // A refusal stops an aborting playbook like a failure (a later "host isolated" notice would be false); a
      // pause does not: the kill switch holds containment back and lets the rest of the playbook run.
      const stopped =
        outcome.status === "failed" || outcome.status === "unknown_outcome" || outcome.status.startsWith("refused_");
      if (stopped && step.on_failure === "abort") break;
    }
    return held;
  }

  /**
   * Runs a step effectively once per decision. Its action id is claimed in state (a heartbeat keeps the claim
   * alive while the step runs), the vendor is called, the audit record is stored with the claim (`complete`,
   * retried in place on a blip and kept in memory for the redelivery if it still fails), and only then published.
   * A redelivered decision finds the claim completed and re-publishes the stored record (same id) instead of
   * calling the vendor again. A claim held by another owner is retried until it completes or its owner's
   * heartbeat stops (within one claim TTL); an attempt that may have reached the vendor without recording its
   * outcome is resolved by the step (verify, or idempotent resend, or `unknown_outcome`).
   */
  /** The approval gate in front of step `index`, if any. */
  private gateOf(decision: Decision, playbook: PlaybookFile, index: number): Gate | undefined {
    const step = playbook.steps[index] as PlaybookStep;
    if (step.approval) return { ...step.approval, stepId: `${step.id}.approval` };
    if (decision.approval !== "required") return undefined;
    const classOf = (s: PlaybookStep) => this.bound.get(s.connector)?.descriptor.actions[s.action]?.classification;
    const first = playbook.steps.findIndex((s) => classOf(s) === "containment");
    if (index !== Math.max(first, 0)) return undefined;
    return { roles: ["approver"], expires: 4 * 3_600_000, on_expiry: "deny", stepId: "approval" };
  }

  /** What a step would send (like a dry run): its rendered params and the connector's preview of the requests. */
  private plan(decision: Decision, step: PlaybookStep): Record<string, unknown> {
    const params = this.render(decision, step);
    const descriptor = this.bound.get(step.connector)?.descriptor.actions[step.action];
    const classification = descriptor?.classification ?? "enrich";
    if ("error" in params) return { classification, error: messageOf(params.error) };
    return withPlan({ classification, request: params.value }, descriptor, params) ?? { request: params.value };
  }

  private async once(
    decision: Decision,
    step: PlaybookStep,
    stepId: string,
    run: (ctx: StepContext) => Promise<StepOutcome>,
    extra: Pick<AuditRecord, "approval"> = {},
  ): Promise<{ status: AuditStatus }> {
    const { statePrefix, metrics } = this.deps;
    const actionId = actionIdOf(decision.id, stepId);
    const entity = decision.target ? targetKey(decision.target) : decision.alert.entity_key;
    const key = stateKey(statePrefix, entity, "action", actionId);
    const begun = await this.ledger.begin(key, actionId);
    if (begun.kind !== "acquired") {
      if (begun.kind === "unfinished") await begun.claim.complete(begun.result);
      else metrics.inc("executor_replays_skipped_total");
      const stored = AuditRecord.safeParse(JSON.parse(begun.result || "null"));
      if (!stored.success) return { status: "succeeded" };
      await this.publishAudit(stored.data, entity, activeHeaders());
      return { status: stored.data.status };
    }
    const { claim } = begun;
    const started = this.now();
    const params = this.render(decision, step);
    return inSpan(
      `step ${step.id}`,
      contextFrom({}),
      {
        [ATTR.actionId]: actionId,
        [ATTR.step]: step.id,
        [ATTR.connector]: step.connector,
        [ATTR.connectorAction]: step.action,
      },
      async (span) => {
        let outcome: StepOutcome;
        try {
          outcome = await run({ decision, step, actionId, params, claim });
        } catch (e) {
          // Nothing was sent (the step throws only before the vendor call): let the redelivery claim it at once.
          await claim.release();
          throw e;
        }
        span.setAttribute(ATTR.actionStatus, outcome.status);
        // Whatever threw, no URL carries a secret (user info, query values) into the audit record or the log.
        const error = outcome.error && { ...outcome.error, message: redactUrls(outcome.error.message) };
        const descriptor = this.bound.get(step.connector)?.descriptor.actions[step.action];
        const response =
          outcome.status === "dry_run" ? withPlan(outcome.response, descriptor, params) : outcome.response;
        const record: AuditRecord = {
          id: actionId,
          decision_id: decision.id,
          playbook: decision.playbook ?? "",
          step: stepId,
          connector: step.connector,
          action: step.action,
          classification: descriptor?.classification ?? "enrich",
          status: outcome.status,
          ...(decision.target ? { target: decision.target } : {}),
          attempts: outcome.attempts,
          started,
          finished: this.now(),
          request: "value" in params ? params.value : {},
          ...(response ? { response } : {}),
          ...(error ? { error } : {}),
          ...(decision.rule ? { rule_id: decision.rule.id } : {}),
          alert_uid: decision.alert.uid,
          trace_id: traceIdOf(span),
          ...(extra.approval ? { approval: extra.approval } : {}),
        };
        if (outcome.release) await claim.release();
        else await claim.complete(JSON.stringify(record));
        await this.publishAudit(record, entity, headersFor(span));
        metrics.inc("executor_actions_total");
        metrics.count("riposte_actions_total", {
          [LABEL.connector]: step.connector,
          [LABEL.action]: step.action,
          [LABEL.outcome]: outcome.status,
        });
        // MTTR: from the decision to the containment the vendor confirmed.
        if (record.classification === "containment" && outcome.status === "succeeded") {
          metrics.observe("riposte_mttr_seconds", (record.finished - decision.time) / 1000, {
            [LABEL.rule]: decision.rule?.id ?? "",
            [LABEL.playbook]: record.playbook,
          });
        }
        if (outcome.status === "failed") metrics.inc("executor_actions_failed_total");
        const line = {
          action_id: actionId,
          decision_id: decision.id,
          step: stepId,
          connector: step.connector,
          action: step.action,
          status: outcome.status,
          target: decision.target,
          error,
          ...(outcome.response?.["reason"] !== undefined ? { reason: outcome.response["reason"] } : {}),
        };
        if (GUARD_STATUSES.includes(outcome.status as (typeof GUARD_STATUSES)[number]))
          this.deps.log.warn(line, "action held back by a guard");
        else this.deps.log.info(line, "action");
        return outcome;
      },
    );
  }

  private async publishAudit(record: AuditRecord, entity: string, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(this.deps.topics.actions, [{ key: entity, value: JSON.stringify(record), headers }]);
  }

  /** The step's params rendered from the decision, or why they cannot be. */
  private render(decision: Decision, step: PlaybookStep): StepContext["params"] {
    try {
      return { value: renderAll(step.params, this.templateData(decision)) };
    } catch (e) {
      return { error: e };
    }
  }

  private templateData(decision: Decision): Record<string, unknown> {
    return {
      target: decision.target,
      params: decision.params ?? {},
      alert: decision.alert,
      decision: { id: decision.id, score: decision.score },
      rule: decision.rule,
    };
  }
}

/** A dry run's response with the requests the action would have sent (`would_send`), when it can tell them. */
function withPlan(
  response: Record<string, unknown> | undefined,
  action: ConnectorDescriptor["actions"][string] | undefined,
  params: StepContext["params"],
): Record<string, unknown> | undefined {
  if (!action?.preview || !("value" in params)) return response;
  const input = action.input.safeParse(params.value);
  return input.success ? { ...response, would_send: action.preview(input.data) } : response;
}

/**
 * An action's id: (decision id, step) — and the item, for a step run once per item of a list, so each item is its
 * own effectively-once action.
 */
export function actionIdOf(decisionId: string, stepId: string, item?: string): string {
  return item === undefined ? stableId(decisionId, stepId) : stableId(decisionId, stepId, item);
}
