/**
 * The executor's side of approval gates (approvals.ts holds the state): recording a pending approval for a gated
 * step, resuming the run on a verdict from `<prefix>.approvals`, and the sweep that expires approvals and resumes
 * verdicts that never reached the topic. A resumed run goes through the action claims like any run, so a verdict
 * seen twice (redelivery, two executors, the sweep and the consumer) still runs each step once.
 */
import { randomUUID } from "node:crypto";
import type { Decision, PlaybookFile, PlaybookStep } from "../../schemas/index.ts";
import type { InMessage } from "../shared/bus/index.ts";
import { isRiposteError, messageOf } from "../shared/errors.ts";
import { ATTR, activeHeaders, contextFrom, inContext, pastSpan } from "../shared/telemetry.ts";
import { stableId } from "../shared/ids.ts";
import type { Logger } from "../shared/log.ts";
import type { Role } from "../shared/roles.ts";
import type { StateStore } from "../shared/state/index.ts";
import { ApprovalStore, ApprovalVerdict, playbookOf, type ApprovalDoc, type PendingApproval } from "./approvals.ts";
import type { AuditRecord } from "./audit.ts";
import type { StepOutcome } from "./step.ts";

/** An approval gate in front of a step; `stepId` names the action that records the wait. */
export interface Gate {
  readonly roles: readonly Role[];
  readonly expires: number;
  readonly on_expiry: "deny" | "proceed";
  readonly stepId: string;
}

/** The verdict a resumed run starts from; `proceed` when an expired approval's gate says on_expiry: proceed. */
export interface Granted {
  readonly verdict: ApprovalVerdict;
  readonly proceed?: boolean;
  readonly audit: NonNullable<AuditRecord["approval"]>;
}

export interface GateDeps {
  readonly state: StateStore;
  readonly prefix: string;
  readonly log: Logger;
  readonly now: () => number;
  readonly sweepMs: number;
  /** Runs the playbook from the gated step; true when that step was paused (kill switch) and must run again. */
  readonly resume: (decision: Decision, playbook: PlaybookFile, index: number, granted: Granted) => Promise<boolean>;
  readonly plan: (decision: Decision, step: PlaybookStep) => Record<string, unknown>;
  /** How old a verdict must be before the sweep resumes it itself (the topic normally does; default 10 s). */
  readonly graceMs?: number;
}

/** The approval id of a gated step: deterministic, so a redelivered decision finds the same approval. */
export const approvalIdOf = (decisionId: string, stepId: string) => stableId(decisionId, stepId, "approval");

export class ApprovalGates {
  readonly store: ApprovalStore;
  private readonly deps: GateDeps;
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(deps: GateDeps) {
    this.deps = deps;
    this.store = new ApprovalStore({ state: deps.state, prefix: deps.prefix, now: deps.now });
  }

  /** Records the pending approval of step `index` (what it would send, why, until when): the run waits. */
  async request(decision: Decision, playbook: PlaybookFile, index: number, gate: Gate): Promise<StepOutcome> {
    const step = playbook.steps[index] as PlaybookStep;
    const now = this.deps.now();
    const plan = this.deps.plan(decision, step);
    const pending: PendingApproval = {
      id: approvalIdOf(decision.id, step.id),
      decision,
      playbook: playbook,
      step_index: index,
      step: step.id,
      connector: step.connector,
      action: step.action,
      classification: typeof plan["classification"] === "string" ? plan["classification"] : "",
      roles: [...gate.roles],
      on_expiry: gate.on_expiry,
      plan,
      why: {
        ...(decision.rule ? { rule: decision.rule } : {}),
        alert: decision.alert,
        ...(decision.reason ? { reason: decision.reason } : {}),
      },
      requested_at: now,
      expires_at: now + gate.expires,
      trace: activeHeaders(),
    };
    await this.store.request(pending);
    this.deps.log.info(
      { approval_id: pending.id, decision_id: decision.id, step: step.id, expires_at: pending.expires_at },
      "step waits for approval",
    );
    return {
      status: "awaiting_approval",
      attempts: 0,
      response: {
        approval_id: pending.id,
        roles: pending.roles,
        expires_at: pending.expires_at,
        on_expiry: pending.on_expiry,
        ...plan,
      },
    };
  }

  /** Verdicts from `<prefix>.approvals`: each resumes its run (a retriable failure redelivers the batch). */
  async handle(messages: readonly InMessage[]): Promise<void> {
    for (const m of messages) {
      let verdict: ApprovalVerdict;
      try {
        verdict = ApprovalVerdict.parse(JSON.parse(m.value.toString("utf8")));
      } catch (e) {
        this.deps.log.warn({ err: messageOf(e), offset: m.offset }, "not an approval verdict; skipped");
        continue;
      }
      const doc = await this.store.get(verdict.id);
      if (!doc) {
        this.deps.log.warn({ approval_id: verdict.id }, "verdict for an unknown approval; skipped");
        continue;
      }
      await this.resume(doc, doc.verdict ?? verdict);
    }
  }

  /** Resumes (or ends) the run of a decided approval, then marks it resumed. */
  private async resume(doc: ApprovalDoc, verdict: ApprovalVerdict): Promise<void> {
    if (doc.resumed) return;
    const p = doc.pending;
    const granted: Granted = {
      verdict,
      proceed: verdict.verdict === "expired" && p.on_expiry === "proceed",
      audit: {
        id: p.id,
        verdict: verdict.verdict,
        by: verdict.by,
        at: verdict.at,
        ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
      },
    };
    // The wait is a span of the run's trace, from the request to the verdict, naming who decided; the resumed
    // run is its child, so the trace goes on from the alert through the approval to the vendor call.
    const waited = pastSpan(
      `approval ${p.step}`,
      contextFrom(p.trace ?? {}),
      {
        [ATTR.approvalId]: p.id,
        [ATTR.approvalVerdict]: verdict.verdict,
        [ATTR.approvalBy]: verdict.by,
        [ATTR.decisionId]: p.decision.id,
        [ATTR.step]: p.step,
      },
      p.requested_at,
      verdict.at,
    );
    const resume = () => this.deps.resume(p.decision, playbookOf(p), p.step_index, granted);
    // Paused by the kill switch: not marked resumed, so the sweep drives it again once the switch is off.
    if (await inContext(waited, resume)) return;
    await this.store.markResumed(p.id);
  }

  /**
   * One pass, under the sweep lock (one executor at a time): expired approvals are decided `expired` (the claim
   * makes an approver's last-second verdict and the expiry exclusive), and verdicts older than the grace that
   * no consumer resumed are resumed here. Returns how many runs it resumed or ended.
   */
  async sweep(): Promise<number> {
    const { state, now, log } = this.deps;
    const lock = this.store.sweepLock();
    const held = await state.claim(lock, this.owner, Math.max(5_000, this.deps.sweepMs * 3));
    if (held.state !== "acquired") return 0;
    let n = 0;
    try {
      for (const doc of await this.store.open()) {
        try {
          let verdict = doc.verdict;
          if (!verdict && now() >= doc.pending.expires_at) {
            const d = await this.store.decide(doc.pending.id, { verdict: "expired", by: "expiry" });
            verdict = d.ok ? d.verdict : d.reason === "decided" ? d.verdict : undefined;
            if (d.ok) log.info({ approval_id: doc.pending.id, on_expiry: doc.pending.on_expiry }, "approval expired");
          } else if (verdict && now() - verdict.at < (this.deps.graceMs ?? 10_000)) continue;
          if (!verdict) continue;
          await this.resume(doc, verdict);
          n++;
        } catch (e) {
          // Another executor is running the step (its claim is held), or a blip: the next pass tries again.
          const level = isRiposteError(e) && e.retriable ? "debug" : "warn";
          log[level]({ approval_id: doc.pending.id, err: messageOf(e) }, "approval sweep: not resumed this pass");
        }
      }
    } finally {
      await state.release(lock, this.owner).catch(() => false);
    }
    return n;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweeping = this.sweep().catch((e: unknown) =>
        this.deps.log.warn({ err: messageOf(e) }, "approval sweep failed"),
      );
    }, this.deps.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
