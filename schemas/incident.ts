/** The incident record: alerts and decisions about linked entities within a window, kept in state and on `<prefix>.incidents`. */
import { z } from "zod";

/** What an analyst may set; `merged` is the correlator's own (the incident lives on in `merged_into`). */
export const IncidentStatus = z.enum(["open", "acknowledged", "contained", "resolved", "false_positive", "merged"]);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** Statuses an incident takes new alerts in; resolved, false-positive and merged incidents are closed. */
export const ACTIVE_STATUSES: ReadonlySet<IncidentStatus> = new Set(["open", "acknowledged", "contained"]);

/** Caps of an incident's lists; the counts beside them keep going. */
export const INCIDENT_LIMITS = {
  entities: 50,
  alertIds: 100,
  decisions: 100,
  notes: 50,
  history: 200,
  mergedFrom: 50,
} as const;

export const IncidentDecision = z.object({
  id: z.string(),
  rule: z.string(),
  playbook: z.string().optional(),
  alert_uid: z.string(),
  /** When the decision was made (wall clock, ms). */
  time: z.number().int(),
});
export type IncidentDecision = z.infer<typeof IncidentDecision>;

export const IncidentNote = z.object({ time: z.number().int(), by: z.string(), text: z.string() });
export type IncidentNote = z.infer<typeof IncidentNote>;

/** A change to the incident: who (an API caller, or `correlator`), when (wall clock), what. */
export const IncidentChange = z.object({
  time: z.number().int(),
  by: z.string(),
  field: z.enum(["status", "assignee", "merged"]),
  from: z.string().nullable(),
  to: z.string().nullable(),
});
export type IncidentChange = z.infer<typeof IncidentChange>;

export const Incident = z.object({
  /** Deterministic: a hash of the alert that opened it, so a replay yields the same ids. */
  id: z.string(),
  status: IncidentStatus,
  /** Entity keys (`user:j.doe`, `host:fin-ws-042`), the first INCIDENT_LIMITS.entities. */
  entities: z.array(z.string()),
  entity_count: z.number().int(),
  /** Alert uids, the first INCIDENT_LIMITS.alertIds. */
  alert_ids: z.array(z.string()),
  alert_count: z.number().int(),
  decisions: z.array(IncidentDecision),
  decision_count: z.number().int(),
  /** 0-100: the highest of its decisions' rule scores and entity risk scores, and of its alerts' severity × 10. */
  score: z.number(),
  /** The highest OCSF severity_id of its alerts (99 "Other" counts as 0). */
  severity_id: z.number().int(),
  severity: z.string(),
  assignee: z.string().nullable(),
  notes: z.array(IncidentNote),
  history: z.array(IncidentChange),
  /** Event time (ms) of the first and the last alert. */
  first_seen: z.number().int(),
  last_seen: z.number().int(),
  /** Wall-clock time (ms) of the last change. */
  updated: z.number().int(),
  /** Incidents merged into this one (an alert linked their entities), oldest first. */
  merged_from: z.array(z.string()),
  /** Set when this incident was merged into another. */
  merged_into: z.string().optional(),
  /** Starts at 1 and grows by one with every change: a reader of the topic keeps the highest. */
  version: z.number().int().min(1),
});
export type Incident = z.infer<typeof Incident>;

const SEVERITY_NAMES: Readonly<Record<number, string>> = {
  0: "Unknown",
  1: "Informational",
  2: "Low",
  3: "Medium",
  4: "High",
  5: "Critical",
  6: "Fatal",
};

/** OCSF's name of a severity_id. */
export const severityName = (id: number): string => SEVERITY_NAMES[id] ?? "Other";
