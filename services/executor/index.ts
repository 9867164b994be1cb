/**
 * The executor's public surface: what the other services (API, CLI, runtime) and tools use. Everything else in
 * services/executor/ is internal to it.
 *
 * - Executor: decisions → durable playbook runs → connector calls, each audited (executor.ts).
 * - Runs: the run documents in state, their ids, schema and statuses (runs.ts, run-schema.ts).
 * - Planning: the pure planner of a run and a playbook's hash (plan.ts).
 * - Approvals: pending approvals and verdicts in state (approvals.ts).
 * - Guards: budgets, kill switch, protected assets, rate limits, breakers (guards.ts, protected.ts).
 * - Connectors: the registry and its types (connectors/).
 * - Audit: the audit record and its statuses (audit.ts).
 */
export { Executor, actionIdOf, type ExecutorDeps } from "./executor.ts";
export { RunStore, runIdOf, RUN_RETENTION_MS, type RunFilter } from "./runs.ts";
export {
  ItemRun,
  OPEN_STATUSES,
  RUN_STATUSES,
  RunDoc,
  RunStatus,
  StepRun,
  StepState,
  StepStatus,
  isOpen,
} from "./run-schema.ts";
export {
  planRun,
  playbookHash,
  preparePlaybook,
  itemKey,
  stateOf,
  type Plan,
  type PlanInput,
  type PlannedItem,
  type PlannedRollback,
  type PreparedPlaybook,
  type ReadyStep,
  type Settled,
} from "./plan.ts";
export {
  ApprovalStore,
  ApprovalVerdict,
  MAX_BATCH,
  PendingApproval,
  playbookOf,
  type ApprovalDoc,
  type Decided,
} from "./approvals.ts";
export { approvalIdOf, type Gate, type Granted } from "./approval-gates.ts";
export {
  Guards,
  PROTECTED_FILE,
  defaultGuardSettings,
  loadGuardSettings,
  type BudgetRefusal,
  type BudgetSubject,
  type GuardSettings,
  type KillSwitchState,
} from "./guards.ts";
export { ProtectedAssets, parseProtectedEntries, type ProtectedList } from "./protected.ts";
export { AuditRecord, AuditStatus, GUARD_STATUSES } from "./audit.ts";
export * from "./connectors/index.ts";
