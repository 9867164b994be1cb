/**
 * The executor's audit record: the ActionRecord of schemas/records.ts with the statuses the safety guards add.
 * `paused` (kill switch on; the claim is released so the decision can be driven again once lifted),
 * `refused_budget`, `refused_protected`, `refused_stale` (terminal refusals) and `unknown_outcome` (an earlier
 * attempt may have acted and the vendor cannot say: left to a human, never re-sent blindly).
 */
import type { z } from "zod";
import { ActionRecord, ActionStatus } from "../../schemas/index.ts";

export const GUARD_STATUSES = [
  "paused",
  "refused_budget",
  "refused_protected",
  "refused_stale",
  "unknown_outcome",
] as const;

/** Every status of schemas/records.ts's ActionStatus, which includes the guards' (checked by a test). */
export const AuditStatus = ActionStatus;
export type AuditStatus = z.infer<typeof AuditStatus>;

export const AuditRecord = ActionRecord.extend({ status: AuditStatus });
export type AuditRecord = z.infer<typeof AuditRecord>;
