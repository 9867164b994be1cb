/**
 * The executor: decisions → playbook runs → connector calls, each audited on riposte.actions.
 * A decision's run is a state machine in shared state (runs.ts), planned by plan.ts (the step graph, conditions,
 * for_each, approval gates, rollback) and driven here under the run's owner claim; a run whose executor died is
 * reaped and taken over by another. Effectively once: an action's id is (decision id, step, for_each item),
 * claimed in state before the call (ledger.ts); a replayed decision finds the claim completed and does nothing.
 * Guards (guards.ts, step.ts) hold containment back whatever a rule says: kill switch, decision age, protected
 * assets, budgets, one containment per target at a time, per-connector rate limits and circuit breakers.
 */
import { DEFAULT_IDENTITY, decisionData, type IdentitySettings } from "./identity.ts";
import { randomUUID } from "node:crypto";
import { Decision, OUTCOME_HEADER, targetKey, type PlaybookFile, type PlaybookStep } from "../../schemas/index.ts";
import { inKeyOrder, type Bus, type InMessage } from "../shared/bus/index.ts";
import type { ConnectorConfig, TopicNames } from "../shared/config.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import { stableId } from "../shared/ids.ts";
import type { Logger } from "../shared/log.ts";
import { LABEL, type Metrics } from "../shared/metrics.ts";
import { incidentKeys, stateKey, type StateStore } from "../shared/state/index.ts";
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
import { Ledger, type Claim } from "./ledger.ts";
import { parse, safeParse } from "../../schemas/fast-parse.ts";
import {
  planRun,
  preparePlaybook,
  stateOf,
  stepsData,
  type PlannedItem,
  type PlannedRollback,
  type PreparedPlaybook,
  type ReadyStep,
} from "./plan.ts";
import { isOpen, type ItemRun, type RunDoc, type StepRun } from "./run-schema.ts";
import { RunStore, knownText, runIdOf } from "./runs.ts";
import type { CoalesceSettings } from "./batcher.ts";
import { LeaseScheduler } from "./lease-scheduler.ts";
import { Leases } from "./leases.ts";
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
  /** Most items one for_each step acts on (RIPOSTE_FOR_EACH_MAX, default 100); a longer list fails the step. */
  readonly forEachMax?: number;
  /** Which identity provider holds a user (RIPOSTE_IDP_DOMAINS, RIPOSTE_IDP_DEFAULT): the `identity` fact. */
  readonly identity?: IdentitySettings;
  /** Every step of every playbook in dry run (RIPOSTE_DRY_RUN): audited with the exact request, nothing sent. */
  readonly dryRun?: boolean;
  /** TTL of a run's owner claim, renewed by the owner's heartbeat every third of it (default: claimTtlMs). */
  readonly runClaimTtlMs?: number;
  /** How often the reaper looks for runs whose owner stopped (default 10 s; see start()). */
  readonly reapMs?: number;
  /** Waits between a step's attempts (default: a timer). */
  readonly sleep?: (ms: number) => Promise<unknown>;
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
  /** The runs in state (the API reads them too). */
  readonly runs: RunStore;
  private readonly runLedger: Ledger;
  /** The loaded playbooks, prepared (graph, compiled conditions, hash). */
  private readonly prepared = new Map<string, PreparedPlaybook>();
  private readonly maxItems: number;
  /** The gates a playbook's steps declare themselves (the same for all its decisions), by playbook. */
  private readonly stepGates = new WeakMap<PlaybookFile, ReadonlyMap<string, Gate>>();
  /** This executor's name in the runs it drives. */
  private readonly owner = randomUUID();
  private reaper: NodeJS.Timeout | undefined;
  private reaping: Promise<unknown> = Promise.resolve();
  private readonly reapMs: number;
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
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
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
    for (const pb of deps.playbooks.values()) this.prepared.set(pb.id, preparePlaybook(pb));
    this.maxItems = deps.forEachMax ?? 100;
    this.runs = new RunStore({ state: deps.state, prefix: deps.statePrefix, now: this.now });
    const runClaimTtlMs = deps.runClaimTtlMs ?? claimTtlMs;
    this.runLedger = new Ledger({
      state: deps.state,
      log: deps.log,
      claimTtlMs: runClaimTtlMs,
      doneTtlMs: DONE_TTL_MS,
    });
    this.reapMs = deps.reapMs ?? 10_000;
    this.gates = new ApprovalGates({
      state: deps.state,
      prefix: deps.statePrefix,
      log: deps.log,
      now: this.now,
      sweepMs: deps.approvalSweepMs ?? 5_000,
      ...(deps.approvalGraceMs !== undefined ? { graceMs: deps.approvalGraceMs } : {}),
      resume: (decision, playbook, stepId, granted) =>
        this.drive(decision, this.preparedOf(playbook), { granted: { stepId, granted } }),
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

  /**
   * Starts the approval sweep (expiry, lost verdicts), the lease scheduler (reverse actions of ended leases) and the
   * reaper (runs whose owner stopped); `stop` ends them.
   */
  start(): void {
    this.gates.start();
    this.leaseScheduler.start();
    if (this.reaper) return;
    this.reaper = setInterval(() => {
      this.reaping = this.reap().catch((e: unknown) => this.deps.log.warn({ err: messageOf(e) }, "run reaper failed"));
    }, this.reapMs);
    this.reaper.unref();
  }

  async stop(): Promise<void> {
    if (this.reaper) clearInterval(this.reaper);
    this.reaper = undefined;
    await Promise.all([this.gates.stop(), this.leaseScheduler.stop(), this.reaping]);
  }

  /**
   * One pass of the reaper: every open run that is `running` but whose owner claim is free (its executor died, or
   * this one restarted) is taken over and resumed from its state; runs waiting for approval are the approval
   * sweep's. Returns how many runs it resumed.
   */
  async reap(): Promise<number> {
    let n = 0;
    for (const id of await this.runs.open()) {
      try {
        const run = await this.runs.get(id);
        if (!run || run.status !== "running") continue;
        // Driving it takes its owner claim: refused (retriable, logged at debug) while its owner's heartbeat lives.
        await this.drive(run.decision, undefined);
        n++;
      } catch (e) {
        const level = isRiposteError(e) && e.retriable ? "debug" : "warn";
        this.deps.log[level]({ run_id: id, err: messageOf(e) }, "run reaper: not resumed this pass");
      }
    }
    return n;
  }

  /** A playbook version as prepared: the loaded one when it is the same, else prepared now (an older version). */
  private preparedOf(pb: PlaybookFile): PreparedPlaybook {
    const loaded = this.prepared.get(pb.id);
    const fresh = preparePlaybook(pb);
    return loaded && loaded.hash === fresh.hash ? loaded : fresh;
  }

  /**
   * The connector a step runs on, in dry run when the configuration (RIPOSTE_DRY_RUN) or the playbook (`dry_run`)
   * says so: the audit record then holds the exact request, and nothing is sent.
   */
  private boundFor(step: PlaybookStep, pb: PlaybookFile): Bound {
    const bound = this.bound.get(step.connector) as Bound;
    if (bound.dryRun) return bound;
    if (this.deps.dryRun) return { ...bound, dryRun: true, dryReason: "RIPOSTE_DRY_RUN=true: nothing is sent" };
    if (pb.dry_run) return { ...bound, dryRun: true, dryReason: `playbook ${pb.id} runs in dry run (dry_run: true)` };
    return bound;
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
      decision = parse(Decision, JSON.parse(m.value.toString("utf8")));
    } catch (e) {
      await this.deadLetter(m, "RIPOSTE_SCHEMA_INVALID", `not a decision: ${messageOf(e)}`, parent);
      return;
    }
    if (decision.outcome !== "respond" || !decision.playbook) return;
    this.deps.metrics.inc("executor_decisions_total");
    const playbook = this.prepared.get(decision.playbook);
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
        `playbook ${playbook.file.id}`,
        parent,
        {
          ...processAttributes(this.deps.bus.kind, this.deps.consumerGroup, m),
          [ATTR.decisionId]: decision.id,
          [ATTR.playbook]: playbook.file.id,
          ...(decision.rule ? { [ATTR.ruleId]: decision.rule.id } : {}),
        },
        () => this.drive(decision, playbook),
        SpanKind.CONSUMER,
      );
    } catch (e) {
      // Outages are retried (the batch is redelivered); anything else would block the partition forever.
      if (isRiposteError(e) && e.retriable) throw e;
      this.deps.log.error({ err: messageOf(e), decision_id: decision.id }, "playbook failed; decision dead-lettered");
      await this.deadLetter(
        m,
        "RIPOSTE_EXECUTION_FAILED",
        `playbook ${playbook.file.id} failed: ${messageOf(e)}`,
        parent,
      );
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
   * Drives a decision's run (runs.ts): creates it, or resumes it from its document in state (a redelivery, a
   * verdict, a takeover of a run whose executor died), under the run's owner claim. The planner (plan.ts) says what
   * is ready; each ready step runs in parallel with the others, each of its actions effectively once (`once`).
   * A step behind an approval gate records a pending approval and waits; steps that do not wait for it go on. The
   * run's document is saved after every change; it ends in a terminal status, or waits for a verdict. Returns true
   * when the granted step was paused by the kill switch, so the verdict must be resumed again later.
   */
  private async drive(decision: Decision, current: PreparedPlaybook | undefined, opts: Drive = {}): Promise<boolean> {
    const runId = runIdOf(decision.id);
    const begun = await this.runLedger.begin(this.runs.ownerKey(runId), `run ${runId}`);
    // A run's owner claim is only ever released (its document says how the run ended), never completed.
    if (begun.kind === "done") throw new RiposteError("RIPOSTE_INTERNAL", `run ${runId}: owner claim completed`);
    const claim: Claim = begun.claim;
    const inflight = new Map<string, Promise<Finished>>();
    try {
      let run = await this.runs.get(runId);
      let pb: PreparedPlaybook | undefined;
      if (!run) {
        if (!current) return false;
        pb = current;
        await this.runs.keep(pb);
        // A verdict for a run with no document (its approval was recorded before runs were kept): applied at once.
        // Saved (version 1) by the first pass below, together with its first steps.
        run = opts.granted ? this.reopen(this.newRun(decision, pb), opts) : this.newRun(decision, pb);
      } else {
        pb = await this.runs.version(run.playbook.hash);
        if (!pb) {
          const reason = `the playbook version this run started with (${run.playbook.id} v${run.playbook.version}, ${run.playbook.hash}) is no longer in state: drive the decision again once the playbook is loaded`;
          if (isOpen(run.status)) await this.runs.save({ ...run, status: "failed", finished: this.now(), reason });
          this.deps.log.error({ run_id: runId, decision_id: decision.id }, reason);
          return false;
        }
        if (!isOpen(run.status) && run.status !== "held") {
          // Ended: a redelivery re-publishes the audit records (same ids); nothing is sent again.
          for (const r of run.actions) await this.publishAudit(r, entityOf(decision), activeHeaders());
          this.deps.metrics.inc("executor_replays_skipped_total");
          return false;
        }
        run = this.reopen(run, opts);
      }
      let held = false;
      const data = await this.dataOf(decision, pb);
      const gates = this.gatesOf(decision, pb.file);
      for (;;) {
        const plan = planRun({
          playbook: pb,
          data,
          steps: run.steps,
          gates,
          reverseOf: this.reverseOf,
          maxItems: this.maxItems,
        });
        const steps = { ...run.steps };
        const now = this.now();
        for (const s of plan.settled)
          steps[s.step] = {
            ...(steps[s.step] ?? { attempts: 0 }),
            state: s.state,
            status: s.status,
            reason: s.reason,
            ...(s.error ? { error: s.error } : {}),
            finished: now,
          };
        let changed = plan.settled.length > 0;
        const starting: ReadyStep[] = [];
        for (const r of plan.ready) {
          if (inflight.has(r.step.id)) continue;
          steps[r.step.id] = { ...(steps[r.step.id] ?? { attempts: 0 }), state: "running", started: now };
          starting.push(r);
          changed = true;
        }
        const rollback = plan.rollback && inflight.size === 0 && starting.length === 0 ? plan.rollback : undefined;
        if (rollback) changed = true;
        const launch = (from: RunDoc) => {
          for (const r of starting)
            inflight.set(r.step.id, watched(this.runReady(decision, pb, from, r, steps[r.step.id] as StepRun)));
          if (rollback) inflight.set(ROLLBACK, watched(this.undo(decision, pb, from, rollback)));
        };
        const status: RunDoc["status"] =
          inflight.size + starting.length + (rollback ? 1 : 0) > 0 ? "running" : plan.status;
        const ended = !isOpen(status) ? { finished: now } : {};
        // A new run is first saved with its first steps marked running (one write, not two), before any of them
        // starts: no action is claimed for a run that is not in state. Later, steps start while the save is sent.
        const fresh = run.version === 0;
        if (!fresh) launch(run);
        if (fresh || changed || status !== run.status)
          run = await this.runs.save({
            ...run,
            steps,
            status,
            ...ended,
            ...(plan.aborted ? { aborted_by: plan.aborted.by, rollback: plan.aborted.rollback } : {}),
          });
        if (fresh) launch(run);
        if (inflight.size === 0) {
          if (!isOpen(status)) this.ended(run);
          return held;
        }
        const done = await Promise.race(inflight.values());
        inflight.delete(done.id);
        if (done.held) held = true;
        run = {
          ...run,
          steps: { ...run.steps, [done.step]: done.run },
          actions: [...run.actions, ...done.records.filter((r) => !run?.actions.some((a) => sameRecord(a, r)))],
        };
      }
    } finally {
      // Whatever threw, steps already under way finish (their actions complete) before the claim is given up.
      if (inflight.size > 0) await Promise.allSettled(inflight.values());
      await claim.release();
    }
  }

  /** The reverse action a step's action declares (for the planner's rollbacks). */
  private readonly reverseOf = (s: PlaybookStep): string | undefined =>
    this.bound.get(s.connector)?.descriptor.actions[s.action]?.reverse;

  /** A new run of `pb` for the decision, every step pending. */
  private newRun(decision: Decision, pb: PreparedPlaybook): RunDoc {
    const now = this.now();
    return {
      id: runIdOf(decision.id),
      decision_id: decision.id,
      decision,
      playbook: { id: pb.file.id, version: pb.file.version, hash: pb.hash },
      status: "running",
      owner: this.owner,
      takeovers: 0,
      started: now,
      updated: now,
      steps: Object.fromEntries(pb.file.steps.map((s) => [s.id, { state: "pending", attempts: 0 } satisfies StepRun])),
      actions: [],
      ...(decision.trace_id ? { trace_id: decision.trace_id } : {}),
      version: 0,
    };
  }

  /**
   * A run found in state, made ready to drive again: steps left `running` by an owner that is gone go back to
   * pending (their actions' claims say what happened), a held run (containment paused by the kill switch) runs
   * again, and a verdict moves its step out of waiting.
   */
  private reopen(run: RunDoc, opts: Drive): RunDoc {
    const steps: Record<string, StepRun> = {};
    const takeover = run.status === "running" && run.owner !== undefined && run.owner !== this.owner;
    for (const [id, s] of Object.entries(run.steps)) {
      // A held run is driven again from the start: its steps done find their action claims completed (nothing is
      // sent again, their records are re-published) and its paused steps run.
      const again = s.state === "running" || run.status === "held";
      steps[id] = again ? { state: "pending", attempts: s.attempts } : s;
    }
    const g = opts.granted;
    const gated = g && steps[g.stepId];
    if (g && gated && (gated.state === "waiting_approval" || gated.state === "pending"))
      steps[g.stepId] = {
        ...gated,
        state: "pending",
        approval: { ...g.granted.audit, ...(g.granted.proceed ? { proceed: true } : {}) },
      };
    if (takeover) {
      this.deps.metrics.inc("executor_runs_taken_over_total");
      this.deps.log.warn(
        { run_id: run.id, decision_id: run.decision_id, previous_owner: run.owner },
        "took over a run whose executor stopped (heartbeat expired); resuming from its state",
      );
    }
    return {
      ...run,
      steps,
      status: "running",
      owner: this.owner,
      takeovers: run.takeovers + (takeover ? 1 : 0),
    };
  }

  private ended(run: RunDoc): void {
    this.deps.metrics.count("riposte_runs_total", { [LABEL.playbook]: run.playbook.id, [LABEL.outcome]: run.status });
    if (!this.deps.log.isLevelEnabled("info")) return;
    this.deps.log.info(
      { run_id: run.id, decision_id: run.decision_id, playbook: run.playbook.id, status: run.status },
      "run ended",
    );
  }

  /** The facts and template data a decision's steps see (its incident only when a step reads it). */
  private async dataOf(decision: Decision, pb: PreparedPlaybook): Promise<Record<string, unknown>> {
    const data = this.templateData(decision);
    if (!pb.readsIncident) return data;
    const found = await this.deps.state.incidentFind(
      incidentKeys(this.deps.statePrefix),
      [decision.alert.entity_key],
      [],
    );
    const id = found.links[0];
    const doc = id === undefined ? undefined : found.docs.get(id);
    return { ...data, incident: doc === undefined ? {} : (JSON.parse(doc) as Record<string, unknown>) };
  }

  /** Runs one ready step (every item of its for_each, a few at a time) and says how it ended. */
  private async runReady(
    decision: Decision,
    pb: PreparedPlaybook,
    run: RunDoc,
    ready: ReadyStep,
    before: StepRun,
  ): Promise<Finished> {
    const { step } = ready;
    const ctx: RunContext = { decision, pb, runId: run.id };
    const started = this.now();
    if (ready.kind === "request_approval") {
      const item = { params: this.renderFor(step, await this.dataOf(decision, pb), run) };
      const r = await this.once(ctx, step, ready.gate.stepId, item, async () =>
        this.gates.request(decision, pb.file, step, ready.gate, this.plan(step, item.params)),
      );
      const id = r.record?.response?.["approval_id"];
      const approvalId = typeof id === "string" ? id : "";
      const waiting = r.status === "awaiting_approval";
      return finished(
        step.id,
        {
          ...before,
          state: waiting ? "waiting_approval" : stateOf(r.status),
          status: r.status,
          ...(approvalId ? { approval_id: approvalId } : {}),
          ...(waiting ? {} : { finished: this.now() }),
        },
        r.record ? [r.record] : [],
      );
    }
    const approval = before.approval && {
      id: before.approval.id,
      verdict: before.approval.verdict,
      by: before.approval.by,
      at: before.approval.at,
      ...(before.approval.comment !== undefined ? { comment: before.approval.comment } : {}),
    };
    if (ready.kind === "deny") {
      const denied = before.approval?.verdict === "denied";
      const r = await this.once(
        ctx,
        step,
        step.id,
        { params: { value: {} } },
        async () => ({
          status: denied ? "denied" : "expired",
          attempts: 0,
          response: {
            reason: denied
              ? `denied by ${before.approval?.by ?? "?"}: the step and the steps waiting for it were not run`
              : "the approval expired (on_expiry: deny): the step and the steps waiting for it were not run",
          },
        }),
        approval ? { approval } : {},
      );
      return finished(
        step.id,
        { ...before, state: stateOf(r.status), status: r.status, finished: this.now() },
        r.record ? [r.record] : [],
      );
    }
    const base = this.boundFor(step, pb.file);
    const bound: Bound =
      ready.dryFrom && !base.dryRun
        ? {
            ...base,
            dryRun: true,
            dryReason: `planned from the dry run of step ${ready.dryFrom.join(", ")}: runs dry too, nothing is sent`,
          }
        : base;
    const items: ItemRun[] = [];
    const records: AuditRecord[] = [];
    const act = async (item: PlannedItem) => {
      const t = this.now();
      const r = await this.once(
        ctx,
        step,
        step.id,
        item,
        (sc) => this.steps.run(bound, sc),
        approval ? { approval } : {},
      );
      if (r.record) records.push(r.record);
      items.push({
        action_id: r.actionId,
        ...(item.key !== undefined ? { item: item.key } : {}),
        ...("value" in item.params ? { request: item.params.value } : {}),
        status: r.status,
        attempts: r.record?.attempts ?? 0,
        ...(r.record?.response ? { output: r.record.response } : {}),
        ...(r.record?.error ? { error: r.record.error } : {}),
        latency_ms: Math.max(0, r.record ? r.record.finished - r.record.started : this.now() - t),
        ...(r.record?.trace_id ? { trace_id: r.record.trace_id } : {}),
      });
    };
    // One action (no for_each, the common step): no worker pool, nothing to put back in order.
    if (ready.items.length === 1) await act(ready.items[0] as PlannedItem);
    else await this.actAll(ready.items, act, items);
    const worst = items.find((i) => stateOf(i.status) !== "succeeded") ?? items[0];
    const status = worst?.status ?? "succeeded";
    // An approved step held by the kill switch waits again: the approval sweep resumes it once the switch is off.
    const heldAgain = approval !== undefined && status === "paused";
    const single = step.for_each === undefined ? items[0] : undefined;
    return {
      id: step.id,
      step: step.id,
      held: heldAgain,
      records,
      run: {
        ...before,
        state: heldAgain ? "waiting_approval" : stateOf(status),
        status,
        attempts: items.reduce((n, i) => n + i.attempts, 0),
        output: single
          ? (single.output ?? {})
          : { items: items.map((i) => ({ item: i.item, status: i.status, output: i.output ?? {} })) },
        ...(worst?.error ? { error: worst.error } : {}),
        started,
        finished: this.now(),
        latency_ms: Math.max(0, this.now() - started),
        ...(single?.trace_id ? { trace_id: single.trace_id } : {}),
        items,
      },
    };
  }

  /** Runs every item of a for_each step, a few at a time, and puts their runs back in the items' order. */
  private async actAll(
    planned: readonly PlannedItem[],
    act: (item: PlannedItem) => Promise<void>,
    items: ItemRun[],
  ): Promise<void> {
    const queue = [...planned];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await act(item);
    };
    await Promise.all(Array.from({ length: Math.min(FOR_EACH_CONCURRENCY, planned.length) }, worker));
    const order = new Map(planned.map((it, i) => [it.key, i]));
    items.sort((a, b) => (order.get(a.item) ?? 0) - (order.get(b.item) ?? 0));
  }

  /** Runs one step's reverse action (rollback), each of its done actions with the params it was sent with. */
  private async undo(decision: Decision, pb: PreparedPlaybook, run: RunDoc, r: PlannedRollback): Promise<Finished> {
    const before = run.steps[r.step.id] as StepRun;
    if (r.reverse === undefined) {
      return finished(
        r.step.id,
        {
          ...before,
          rollback: {
            status: "skipped_no_reverse",
            reason: `${r.step.connector}.${r.step.action} declares no reverse action: nothing to undo`,
            items: [],
          },
        },
        [],
        ROLLBACK,
      );
    }
    const reverse = { ...r.step, action: r.reverse, lease: undefined, approval: undefined } as PlaybookStep;
    const bound = this.boundFor(r.step, pb.file);
    const shape = (bound.descriptor.actions[r.reverse]?.input as { shape?: Record<string, unknown> } | undefined)
      ?.shape;
    const items: ItemRun[] = [];
    const records: AuditRecord[] = [];
    for (const done of r.items) {
      const request = done.request ?? {};
      const params = shape ? Object.fromEntries(Object.entries(request).filter(([k]) => k in shape)) : request;
      const stepId = `${r.step.id}.rollback`;
      const res = await this.once(
        { decision, pb, runId: run.id },
        reverse,
        stepId,
        { ...(done.item !== undefined ? { key: done.item } : {}), params: { value: params } },
        (sc) => this.steps.run(bound, sc),
      );
      if (res.record) records.push(res.record);
      items.push({
        action_id: res.actionId,
        ...(done.item !== undefined ? { item: done.item } : {}),
        request: params,
        status: res.status,
        attempts: res.record?.attempts ?? 0,
        ...(res.record?.response ? { output: res.record.response } : {}),
        ...(res.record?.error ? { error: res.record.error } : {}),
        latency_ms: res.record ? res.record.finished - res.record.started : 0,
        ...(res.record?.trace_id ? { trace_id: res.record.trace_id } : {}),
      });
    }
    const bad = items.find((i) => i.status !== "succeeded");
    return finished(
      r.step.id,
      {
        ...before,
        rollback: { action: r.reverse, status: bad?.status ?? "succeeded", items },
      },
      records,
      ROLLBACK,
    );
  }

  /** The approval gates of a decision's steps: each step's own, and `approval: required` on the first containment. */
  private gatesOf(decision: Decision, playbook: PlaybookFile): ReadonlyMap<string, Gate> {
    let own = this.stepGates.get(playbook);
    if (!own) {
      own = new Map(
        playbook.steps.flatMap((s) => (s.approval ? [[s.id, { ...s.approval, stepId: `${s.id}.approval` }]] : [])),
      );
      this.stepGates.set(playbook, own);
    }
    if (decision.approval !== "required") return own;
    const gates = new Map(own);
    const classOf = (s: PlaybookStep) => this.bound.get(s.connector)?.descriptor.actions[s.action]?.classification;
    const first = playbook.steps.find((s) => classOf(s) === "containment") ?? playbook.steps[0];
    if (first && !gates.has(first.id))
      gates.set(first.id, { roles: ["approver"], expires: 4 * 3_600_000, on_expiry: "deny", stepId: "approval" });
    return gates;
  }

  /** A step's params rendered from the decision and the run's settled steps (for an approval's plan). */
  private renderFor(step: PlaybookStep, data: Record<string, unknown>, run: RunDoc): StepContext["params"] {
    try {
      return { value: renderAll(step.params, { ...data, steps: stepsData(run.steps) }) };
    } catch (e) {
      return { error: e };
    }
  }

  /** What a step would send (like a dry run): its rendered params and the connector's preview of the requests. */
  private plan(step: PlaybookStep, params: StepContext["params"]): Record<string, unknown> {
    const descriptor = this.bound.get(step.connector)?.descriptor.actions[step.action];
    const classification = descriptor?.classification ?? "enrich";
    if ("error" in params) return { classification, error: messageOf(params.error) };
    return withPlan({ classification, request: params.value }, descriptor, params) ?? { request: params.value };
  }

  /**
   * Runs one action effectively once: (decision id, step, for_each item). Its action id is claimed in state (a
   * heartbeat keeps the claim alive while the step runs), the vendor is called, the audit record is stored with the
   * claim (`complete`, retried in place on a blip and kept in memory for the redelivery if it still fails), and only
   * then published. A redelivered decision finds the claim completed and re-publishes the stored record (same id)
   * instead of calling the vendor again. A claim held by another owner is retried until it completes or its owner's
   * heartbeat stops (within one claim TTL); an attempt that may have reached the vendor without recording its
   * outcome is resolved by the step (verify, or idempotent resend, or `unknown_outcome`).
   */
  private async once(
    ctx: RunContext,
    step: PlaybookStep,
    stepId: string,
    item: PlannedItem,
    run: (sc: StepContext) => Promise<StepOutcome>,
    extra: Pick<AuditRecord, "approval"> = {},
  ): Promise<{ status: AuditStatus; record?: AuditRecord; actionId: string }> {
    const { decision } = ctx;
    const { statePrefix, metrics } = this.deps;
    const actionId = actionIdOf(decision.id, stepId, item.key);
    const entity = entityOf(decision);
    const key = stateKey(statePrefix, entity, "action", actionId);
    const begun = await this.ledger.begin(key, actionId);
    if (begun.kind !== "acquired") {
      if (begun.kind === "unfinished") await begun.claim.complete(begun.result);
      else metrics.inc("executor_replays_skipped_total");
      const stored = safeParse(AuditRecord, JSON.parse(begun.result || "null"));
      if (!stored.success) return { status: "succeeded", actionId };
      await this.publishAudit(stored.data, entity, activeHeaders());
      return { status: stored.data.status, record: stored.data, actionId };
    }
    const { claim } = begun;
    const started = this.now();
    const params = item.params;
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
          // Only a person's approval resets the clock (an expiry with on_expiry: proceed was seen by nobody).
          const approvedAt = extra.approval?.verdict === "approved" ? extra.approval.at : undefined;
          outcome = await run({
            decision,
            step,
            actionId,
            params,
            claim,
            ...(approvedAt !== undefined ? { approvedAt } : {}),
          });
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
          outcome.status === "dry_run"
            ? withSample(withPlan(outcome.response, descriptor, params), descriptor, params)
            : outcome.response;
        const record: AuditRecord = {
          id: actionId,
          decision_id: decision.id,
          playbook: ctx.pb.file.id,
          playbook_version: ctx.pb.file.version,
          playbook_hash: ctx.pb.hash,
          run_id: ctx.runId,
          step: stepId,
          ...(item.key !== undefined ? { item: item.key } : {}),
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
        // Serialized once: the same text is stored with the claim, published and written in the run's document.
        const text = JSON.stringify(record);
        knownText(record, text);
        if (outcome.release) await claim.release();
        else await claim.complete(text);
        await this.publishAudit(record, entity, headersFor(span), text);
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
        const guarded = GUARD_STATUSES.includes(outcome.status as (typeof GUARD_STATUSES)[number]);
        const level = guarded ? "warn" : "info";
        // The line's object only when it is written: at a quieter level it would be garbage per action.
        if (this.deps.log.isLevelEnabled(level)) {
          const line = {
            action_id: actionId,
            decision_id: decision.id,
            run_id: ctx.runId,
            step: stepId,
            ...(item.key !== undefined ? { item: item.key } : {}),
            connector: step.connector,
            action: step.action,
            status: outcome.status,
            target: decision.target,
            error,
            ...(outcome.response?.["reason"] !== undefined ? { reason: outcome.response["reason"] } : {}),
          };
          this.deps.log[level](line, guarded ? "action held back by a guard" : "action");
        }
        return { status: outcome.status, record, actionId };
      },
    );
  }

  private async publishAudit(
    record: AuditRecord,
    entity: string,
    headers: Record<string, string>,
    text: string = JSON.stringify(record),
  ): Promise<void> {
    await this.deps.bus.publish(this.deps.topics.actions, [{ key: entity, value: text, headers }]);
  }

  private templateData(decision: Decision): Record<string, unknown> {
    return decisionData(decision, this.deps.identity ?? DEFAULT_IDENTITY);
  }
}

/** The key of a rollback in flight (one at a time). */
const ROLLBACK = "\u0000rollback";
/** Items of one for_each step sent at once. */
const FOR_EACH_CONCURRENCY = 8;

interface Drive {
  /** The verdict a resumed run applies to its gated step. */
  readonly granted?: { readonly stepId: string; readonly granted: Granted };
}

interface RunContext {
  readonly decision: Decision;
  readonly pb: PreparedPlaybook;
  readonly runId: string;
}

/** A step (or a rollback) that ended: its new state and the audit records its actions wrote. */
interface Finished {
  readonly id: string;
  readonly step: string;
  readonly run: StepRun;
  readonly records: readonly AuditRecord[];
  readonly held?: boolean;
}

const finished = (step: string, run: StepRun, records: readonly AuditRecord[], id = step): Finished => ({
  id,
  step,
  run,
  records,
});

/**
 * A step in flight, whose failure is handled where the run awaits it (Promise.race, or allSettled on the way out):
 * marked handled at once, so a failure while the run is saving its document is not an unhandled rejection.
 */
function watched<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

const sameRecord = (a: AuditRecord, b: AuditRecord) => a.id === b.id && a.status === b.status;

const entityOf = (decision: Decision) => (decision.target ? targetKey(decision.target) : decision.alert.entity_key);

/** A dry run's response with the requests the action would have sent (`would_send`), when it can tell them. */
function withPlan(
  response: Record<string, unknown> | undefined,
  action: ConnectorDescriptor["actions"][string] | undefined,
  params: StepContext["params"],
): Record<string, unknown> | undefined {
  if (!action?.preview || !("value" in params)) return response;
  const input = safeParse(action.input, params.value);
  return input.success ? { ...response, would_send: action.preview(input.data) } : response;
}

/** A dry run's response with the action's sample output (ActionDescriptor.sample), for later steps to plan on. */
function withSample(
  response: Record<string, unknown> | undefined,
  action: ConnectorDescriptor["actions"][string] | undefined,
  params: StepContext["params"],
): Record<string, unknown> | undefined {
  if (!action?.sample || !("value" in params)) return response;
  const input = safeParse(action.input, params.value);
  return input.success ? { ...action.sample(input.data), ...response, sample: true } : response;
}

/**
 * An action's id: (decision id, step) — and the item, for a step run once per item of a list, so each item is its
 * own effectively-once action.
 */
export function actionIdOf(decisionId: string, stepId: string, item?: string): string {
  return item === undefined ? stableId(decisionId, stepId) : stableId(decisionId, stepId, item);
}
