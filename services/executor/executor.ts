/**
 * The executor: decisions → playbook steps → connector calls, each audited on riposte.actions.
 * Effectively once: an action's id is (decision id, step), claimed in state before the call; a replayed
 * decision finds the claim completed and does nothing. Containment steps take a lease on their target so two
 * decisions cannot contain the same entity twice within the lease.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { randomUUID } from "node:crypto";
import {
  ActionRecord,
  Decision,
  targetKey,
  type ActionStatus,
  type PlaybookFile,
  type PlaybookStep,
} from "../../schemas/index.ts";
import { inKeyOrder, type Bus, type InMessage } from "../shared/bus/index.ts";
import type { ConnectorConfig, TopicNames } from "../shared/config.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import { stableId } from "../shared/ids.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "../shared/metrics.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import {
  ATTR,
  SpanKind,
  activeHeaders,
  contextFrom,
  headersFor,
  inSpan,
  traceIdOf,
  type Context,
} from "../shared/telemetry.ts";
import { renderAll } from "../shared/template.ts";
import { redactUrls, type ActionDescriptor, type ConnectorDescriptor } from "./connectors/index.ts";

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
  readonly now?: () => number;
}

interface Bound {
  readonly descriptor: ConnectorDescriptor;
  readonly client: unknown;
  readonly dryRun: boolean;
}

/** A step's params rendered once per call, for the vendor input and the audit record alike. */
type Rendered = { readonly params: Record<string, unknown> } | { readonly error: unknown };

interface StepOutcome {
  readonly status: ActionStatus;
  readonly attempts: number;
  readonly response?: Record<string, unknown>;
  readonly error?: { code: string; message: string };
}

export class Executor {
  private readonly deps: ExecutorDeps;
  private readonly now: () => number;
  private readonly bound = new Map<string, Bound>();

  constructor(deps: ExecutorDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    for (const d of deps.connectors) {
      const cfg = deps.connectorConfig[d.name];
      const url = cfg && !cfg.dryRun ? cfg.url : undefined;
      this.bound.set(d.name, {
        descriptor: d,
        client: url === undefined ? undefined : d.client(url, cfg?.credentials ?? {}),
        dryRun: url === undefined,
      });
    }
    this.checkPlaybooks();
  }

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
  };

  /** Runs the playbook of one decision message (messages with the same target key run one at a time). */
  private async one(m: InMessage): Promise<void> {
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

  private async runPlaybook(decision: Decision, playbook: PlaybookFile): Promise<void> {
    if (decision.approval === "required") {
      const step = playbook.steps[0] as PlaybookStep;
      await this.once(decision, step, "approval", async () => ({ status: "awaiting_approval", attempts: 0 }));
      return;
    }
    for (const step of playbook.steps) {
      const outcome = await this.once(decision, step, step.id, (rendered) => this.runStep(decision, step, rendered));
      if (outcome.status === "failed" && step.on_failure === "abort") break;
    }
  }

  /**
   * Runs a step at most once per decision. The step's action id is claimed in state under a token of this call
   * (so no re-entry, even by this process), the vendor is called, the audit record is stored with the claim
   * (`complete`), and only then published. A redelivered decision finds the claim completed and re-publishes
   * the stored audit record (same id) instead of calling the vendor again, so the audit is never lost and the
   * vendor never called twice. A claim still pending (a call in flight, or a crashed executor) is retried until
   * it completes or expires.
   */
  private async once(
    decision: Decision,
    step: PlaybookStep,
    stepId: string,
    run: (rendered: Rendered) => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    const { state, statePrefix, metrics } = this.deps;
    const actionId = stableId(decision.id, stepId);
    const entity = decision.target ? targetKey(decision.target) : decision.alert.entity_key;
    const key = stateKey(statePrefix, entity, "action", actionId);
    const owner = randomUUID();
    // Longest a step can take: every attempt's timeout, every backoff (at most 60 s each), and a margin.
    const pendingTtl = (step.timeout + 60_000) * (step.retry.max + 1) + 60_000;
    const claim = await state.claim(key, owner, pendingTtl);
    if (claim.state === "held") {
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", `action ${actionId} is in progress elsewhere; will retry`);
    }
    if (claim.state === "done") {
      metrics.inc("executor_replays_skipped_total");
      const stored = ActionRecord.safeParse(JSON.parse(claim.result || "null"));
      if (!stored.success) return { status: "succeeded", attempts: 0 };
      await this.publishAudit(stored.data, entity, activeHeaders());
      return { status: stored.data.status, attempts: stored.data.attempts };
    }
    const started = this.now();
    const rendered = this.render(decision, step);
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
        const outcome = await run(rendered);
        span.setAttribute(ATTR.actionStatus, outcome.status);
        // Whatever threw, no URL carries a secret (user info, query values) into the audit record or the log.
        const error = outcome.error && { ...outcome.error, message: redactUrls(outcome.error.message) };
        const descriptor = this.bound.get(step.connector)?.descriptor.actions[step.action];
        const record: ActionRecord = {
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
          request: "params" in rendered ? rendered.params : {},
          ...(outcome.response ? { response: outcome.response } : {}),
          ...(error ? { error } : {}),
          ...(decision.rule ? { rule_id: decision.rule.id } : {}),
          alert_uid: decision.alert.uid,
          trace_id: traceIdOf(span),
        };
        if (!(await state.complete(key, owner, JSON.stringify(record), DONE_TTL_MS))) {
          // The claim expired while the step ran (far beyond its timeouts): another executor may act too.
          this.deps.log.error(
            { action_id: actionId, decision_id: decision.id },
            "action claim expired before completion",
          );
        }
        await this.publishAudit(record, entity, headersFor(span));
        metrics.inc("executor_actions_total");
        if (outcome.status === "failed") metrics.inc("executor_actions_failed_total");
        this.deps.log.info(
          {
            action_id: actionId,
            decision_id: decision.id,
            step: stepId,
            connector: step.connector,
            action: step.action,
            status: outcome.status,
            target: decision.target,
            error,
          },
          "action",
        );
        return outcome;
      },
    );
  }

  private async publishAudit(record: ActionRecord, entity: string, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(this.deps.topics.actions, [{ key: entity, value: JSON.stringify(record), headers }]);
  }

  /** The step's params rendered from the decision, or why they cannot be. */
  private render(decision: Decision, step: PlaybookStep): Rendered {
    try {
      return { params: renderAll(step.params, this.templateData(decision)) };
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

  private async runStep(decision: Decision, step: PlaybookStep, rendered: Rendered): Promise<StepOutcome> {
    const bound = this.bound.get(step.connector) as Bound;
    const action = bound.descriptor.actions[step.action] as ActionDescriptor<unknown>;
    let input: unknown;
    try {
      if ("error" in rendered) throw rendered.error;
      input = action.input.parse(rendered.params);
    } catch (e) {
      return {
        status: "failed",
        attempts: 0,
        error: { code: isRiposteError(e) ? e.code : "RIPOSTE_CONNECTOR_REJECTED", message: messageOf(e) },
      };
    }
    if (step.lease && decision.target) {
      const lease = stateKey(
        this.deps.statePrefix,
        targetKey(decision.target),
        "lease",
        `${step.connector}.${step.action}`,
      );
      const held = await this.deps.state.claim(lease, decision.id, step.lease.ttl);
      if (held.state !== "acquired") {
        return {
          status: "skipped_lease",
          attempts: 0,
          response: {
            reason: `${step.connector}.${step.action} already ran on this target within its lease`,
            lease_owner: held.state === "held" ? held.owner : "",
          },
        };
      }
      const outcome = await this.call(bound, action, step, input);
      if (outcome.status === "failed") await this.deps.state.release(lease, decision.id);
      return outcome;
    }
    return this.call(bound, action, step, input);
  }

  /** Calls the connector with the step's timeout and retry policy; Retry-After is honoured. */
  private async call(
    bound: Bound,
    action: ActionDescriptor<unknown>,
    step: PlaybookStep,
    input: unknown,
  ): Promise<StepOutcome> {
    if (bound.dryRun)
      return {
        status: "dry_run",
        attempts: 0,
        response: {
          note: `${step.connector} is not configured: set RIPOSTE_CONNECTOR_${step.connector.toUpperCase()}_URL and its credentials`,
        },
      };
    let last: RiposteError | undefined;
    for (let attempt = 1; attempt <= step.retry.max + 1; attempt++) {
      try {
        const response = await inSpan(
          `${step.connector}.${step.action}`,
          contextFrom({}),
          { [ATTR.connector]: step.connector, [ATTR.connectorAction]: step.action },
          () => action.run(bound.client, { input, signal: AbortSignal.timeout(step.timeout) }),
          SpanKind.CLIENT,
        );
        return { status: "succeeded", attempts: attempt, response };
      } catch (e) {
        last = isRiposteError(e) ? e : new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", messageOf(e), { cause: e });
        const vendorDidNotAct = last.code === "RIPOSTE_CONNECTOR_RATE_LIMITED";
        if (!last.retriable || (!action.idempotent && !vendorDidNotAct) || attempt > step.retry.max) {
          return { status: "failed", attempts: attempt, error: { code: last.code, message: last.message } };
        }
        const backoff = step.retry.backoff * 2 ** (attempt - 1);
        await sleep(Math.min(60_000, Math.max(backoff, last.retryAfterMs ?? 0)));
      }
    }
    return {
      status: "failed",
      attempts: step.retry.max + 1,
      error: { code: last?.code ?? "RIPOSTE_CONNECTOR_UNAVAILABLE", message: last?.message ?? "failed" },
    };
  }
}
