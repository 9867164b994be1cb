/**
 * A playbook run as it is kept in shared state (runs.ts) and shown by `GET /v1/runs`: the playbook version it
 * started with, its status and each step's state, attempts, output, latency and trace id.
 *
 * Statuses: `running` and `waiting_approval` (nothing else to do until a verdict) are open; `paused` (an approved
 * step held by the kill switch: the approval sweep runs it once the switch is off) is open too. Terminal:
 * `succeeded` (every step succeeded or was skipped by its condition), `failed` (a step failed or a guard held it
 * back, and the rest went on), `denied` (an approval was denied or expired), `aborted` (a step with on_failure:
 * abort failed: nothing more started), `rolled_back` / `rollback_failed` (on_failure: rollback: the steps done were
 * undone through their reverse actions, all of them, or not), `held` (a containment was paused by the kill switch
 * and the rest went on; driving the decision again, by a redelivery or a replay, runs the paused steps).
 */
import { z } from "zod";
import { ActionRecord, ActionStatus, Decision } from "../../schemas/index.ts";

export const RUN_STATUSES = [
  "running",
  "waiting_approval",
  "paused",
  "succeeded",
  "failed",
  "denied",
  "aborted",
  "rolled_back",
  "rollback_failed",
  "held",
] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;
export const OPEN_STATUSES: ReadonlySet<RunStatus> = new Set(["running", "waiting_approval", "paused"]);

/** What a step is doing or how it ended; `status` says precisely how (an action status, or why it was skipped). */
export const StepState = z.enum(["pending", "running", "waiting_approval", "succeeded", "failed", "skipped"]);
export type StepState = z.infer<typeof StepState>;

/** A settled step's status: the action's (audit) status, or why the step never ran. */
export const StepStatus = z.union([
  ActionStatus,
  z.enum(["skipped_dependency", "skipped_denied", "skipped_aborted", "skipped_no_reverse"]),
]);
export type StepStatus = z.infer<typeof StepStatus>;

const Err = z.object({ code: z.string(), message: z.string() });

/** One action of a step: the step itself, or one item of a for_each. */
export const ItemRun = z.object({
  action_id: z.string(),
  /** The item (for_each), as text. */
  item: z.string().optional(),
  /** The params as rendered for this action (what it sent, or would send). */
  request: z.record(z.string(), z.unknown()).optional(),
  status: StepStatus,
  attempts: z.number().int(),
  output: z.record(z.string(), z.unknown()).optional(),
  error: Err.optional(),
  latency_ms: z.number().int(),
  trace_id: z.string().optional(),
});
export type ItemRun = z.infer<typeof ItemRun>;

export const StepRun = z.object({
  state: StepState,
  status: StepStatus.optional(),
  /** Vendor attempts, summed over the step's items. */
  attempts: z.number().int(),
  /** The step's result: the connector's response, or `{items: [...]}` for a for_each step. */
  output: z.unknown().optional(),
  error: Err.optional(),
  reason: z.string().optional(),
  started: z.number().int().optional(),
  finished: z.number().int().optional(),
  latency_ms: z.number().int().optional(),
  trace_id: z.string().optional(),
  items: z.array(ItemRun).optional(),
  /** The approval this step waits for, or the verdict it was resumed with (`proceed`: expired, on_expiry: proceed). */
  approval_id: z.string().optional(),
  approval: z
    .object({
      id: z.string(),
      verdict: z.enum(["approved", "denied", "expired"]),
      by: z.string(),
      at: z.number().int(),
      comment: z.string().optional(),
      proceed: z.boolean().optional(),
    })
    .optional(),
  /** The step's reverse action, when the run rolled back. */
  rollback: z
    .object({
      action: z.string().optional(),
      status: StepStatus,
      reason: z.string().optional(),
      items: z.array(ItemRun),
    })
    .optional(),
});
export type StepRun = z.infer<typeof StepRun>;

export const RunDoc = z.object({
  id: z.string(),
  decision_id: z.string(),
  /** The decision the run acts on (a takeover resumes from it). */
  decision: Decision,
  playbook: z.object({ id: z.string(), version: z.number().int(), hash: z.string() }),
  status: RunStatus,
  /** Why the run ended as it did, when no step says it. */
  reason: z.string().optional(),
  /** Set when the run was stopped: the step whose failure aborted it. */
  aborted_by: z.string().optional(),
  rollback: z.boolean().optional(),
  /** The executor that runs it now (a heartbeat in state keeps its claim). */
  owner: z.string().optional(),
  /** How many times an executor took the run over from one whose heartbeat stopped. */
  takeovers: z.number().int(),
  started: z.number().int(),
  updated: z.number().int(),
  finished: z.number().int().optional(),
  /** Steps in the playbook's order. */
  steps: z.record(z.string(), StepRun),
  trace_id: z.string().optional(),
  /** The audit records of the run's actions, in the order they ended (GET /v1/actions). */
  actions: z.array(ActionRecord),
  /** The compare-and-set version of the document in state. */
  version: z.number().int(),
});
export type RunDoc = z.infer<typeof RunDoc>;

export const isOpen = (s: RunStatus) => OPEN_STATUSES.has(s);
