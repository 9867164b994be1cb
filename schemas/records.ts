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

/** One record on `riposte.decisions`; every normalized event yields at least one. */
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
]);
export type ActionStatus = z.infer<typeof ActionStatus>;

/** One record on `riposte.actions`: the audit of a playbook step. */
export const ActionRecord = z.object({
  id: z.string(),
  decision_id: z.string(),
  playbook: z.string(),
  step: z.string(),
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
