/** Schemas of the records Riposte writes to its own topics: decisions, action audit, dead letters. */
import { z } from "zod";

/** What the correlator concluded about one normalized event. */
export const DecisionOutcome = z.enum(["respond", "duplicate", "suppressed", "no_match"]);
export type DecisionOutcome = z.infer<typeof DecisionOutcome>;

export const Target = z.object({
  type: z.enum(["host", "user", "ip", "email", "url", "domain", "hash", "mailbox_message"]),
  value: z.string().min(1),
});
export type Target = z.infer<typeof Target>;

export const AlertRef = z.object({
  uid: z.string(),
  fingerprint: z.string(),
  entity_key: z.string(),
  class_uid: z.number().int(),
  title: z.string(),
  source: z.string(),
  severity_id: z.number().int(),
  time: z.number().int(),
});
export type AlertRef = z.infer<typeof AlertRef>;

export const RuleRef = z.object({ id: z.string(), version: z.number().int(), hash: z.string(), name: z.string() });
export type RuleRef = z.infer<typeof RuleRef>;

/**
 * The correlation that fired: its type, the group (by group-by name), the window in event time and what was
 * counted: `count` events (event_count, temporal types) or distinct `values` (value_count, new_terms).
 */
export const CorrelationRef = z.object({
  type: z.enum(["event_count", "value_count", "temporal", "temporal_ordered", "new_terms"]),
  group: z.record(z.string(), z.string()),
  window: z.object({ start: z.number().int(), end: z.number().int() }),
  count: z.number().int().optional(),
  values: z.array(z.string()).optional(),
});
export type CorrelationRef = z.infer<typeof CorrelationRef>;

/**
 * The risk score of the alert's entity at the alert's time (decayed contributions of matching rules' scores,
 * this alert's included) and its largest contributors.
 */
export const RiskRef = z.object({
  entity: z.string(),
  score: z.number(),
  contributors: z.array(z.object({ rule: z.string(), alert: z.string(), score: z.number() })),
});
export type RiskRef = z.infer<typeof RiskRef>;

/** One record on `riposte.decisions`; every normalized event yields at least one. */
/**
 * The header naming a decision record's outcome, so a consumer that acts only on `respond` (the executor) skips the
 * others without parsing them. A record without it is parsed.
 */
export const OUTCOME_HEADER = "riposte-outcome";

export const Decision = z.object({
  id: z.string(),
  outcome: DecisionOutcome,
  time: z.number().int(),
  alert: AlertRef,
  rule: RuleRef.optional(),
  group_key: z.string().optional(),
  window_start: z.number().int().optional(),
  score: z.number().optional(),
  playbook: z.string().optional(),
  target: Target.optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  approval: z.enum(["none", "required"]).optional(),
  reason: z.string().optional(),
  trace_id: z.string().optional(),
  correlation: CorrelationRef.optional(),
  /** The alerts (uids) that contributed to the decision, oldest first; the deciding alert last. */
  alert_ids: z.array(z.string()).optional(),
  risk: RiskRef.optional(),
  /** Spans this decision stands on besides its own trace: a duplicate links to the original alert's span. */
  links: z
    .array(z.object({ trace_id: z.string(), span_id: z.string() }))
    .max(50)
    .optional(),
});
export type Decision = z.infer<typeof Decision>;

export const ActionStatus = z.enum([
  "succeeded",
  "failed",
  "dry_run",
  "skipped_duplicate",
  "skipped_lease",
  "skipped_condition",
  "awaiting_approval",
  // An approval gate decided against the step: denied by an approver, or expired with on_expiry: deny.
  "denied",
  "expired",
  // The executor's safety guards (services/executor/audit.ts explains each).
  "paused",
  "refused_budget",
  "refused_protected",
  "refused_stale",
  "unknown_outcome",
]);
export type ActionStatus = z.infer<typeof ActionStatus>;

/** One record on `riposte.actions`: the audit of a playbook step (one for_each item of it). */
export const ActionRecord = z.object({
  id: z.string(),
  decision_id: z.string(),
  playbook: z.string(),
  /** The playbook version the run started with (and keeps), and the sha256 of that canonical playbook. */
  playbook_version: z.number().int().optional(),
  playbook_hash: z.string().optional(),
  /** The run (GET /v1/runs/{id}) the action belongs to. */
  run_id: z.string().optional(),
  step: z.string(),
  /** The for_each item the action is for. */
  item: z.string().optional(),
  connector: z.string(),
  action: z.string(),
  classification: z.enum(["containment", "notify", "enrich", "ticket"]),
  status: ActionStatus,
  target: Target.optional(),
  attempts: z.number().int(),
  started: z.number().int(),
  finished: z.number().int(),
  request: z.record(z.string(), z.unknown()),
  response: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  rule_id: z.string().optional(),
  alert_uid: z.string(),
  trace_id: z.string().optional(),
  /** The containment lease the action is the reverse of (run when the lease ended). */
  lease_id: z.string().optional(),
  /** The approval gate the step passed or stopped at: who decided (a token name, or `expiry`) and how. */
  approval: z
    .object({
      id: z.string(),
      verdict: z.enum(["approved", "denied", "expired"]),
      by: z.string(),
      at: z.number().int(),
      comment: z.string().optional(),
    })
    .optional(),
});
export type ActionRecord = z.infer<typeof ActionRecord>;

export const DlqStage = z.enum(["ingest", "normalize", "correlate", "execute"]);
export type DlqStage = z.infer<typeof DlqStage>;

/** One record on `riposte.dlq`: what failed, where, why, and the original bytes. */
export const DlqRecord = z.object({
  id: z.string(),
  time: z.number().int(),
  stage: DlqStage,
  code: z.string(),
  reason: z.string(),
  source: z.string(),
  /** The format the event was detected as, when it was. */
  format: z.string().optional(),
  /** The format the sender asked for (`?format=`, `riposte-format`), which a replay applies again. */
  requested_format: z.string().optional(),
  /** The original bytes, base64. */
  original: z.string(),
  origin: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }).optional(),
  trace_id: z.string().optional(),
});
export type DlqRecord = z.infer<typeof DlqRecord>;

const CASE_INSENSITIVE = new Set<Target["type"]>(["host", "user", "email", "domain", "hash"]);

/**
 * The key of a response target for partitions, leases and idempotency: `type:value`, lower-cased for the types
 * whose values are case-insensitive (hostnames, user names, addresses, domains, hashes), so `FIN-WS-042` and
 * `fin-ws-042` are one host.
 */
export function targetKey(t: Target): string {
  return `${t.type}:${CASE_INSENSITIVE.has(t.type) ? t.value.toLowerCase() : t.value}`;
}
