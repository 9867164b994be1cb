/** Request and response schemas of the incidents API: the handlers validate with them, openapi.ts describes them. */
import { z } from "zod";
import { Incident, IncidentStatus } from "../../schemas/index.ts";

/** Statuses an analyst may set (`merged` is the correlator's). */
const SettableStatus = IncidentStatus.exclude(["merged"]);

/** Query of `GET /v1/incidents`; the handler validates with this schema. */
export const IncidentQuery = z.strictObject({
  status: IncidentStatus.optional().describe("Only incidents in this status"),
  entity: z
    .string()
    .min(1)
    .max(300)
    .optional()
    .describe("Only incidents about this entity: type:value (user:j.doe, host:fin-ws-042) or a bare value"),
  min_score: z.coerce.number().min(0).max(100).optional().describe("Only incidents scoring at least this (0-100)"),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Only incidents whose last alert is at or after this ISO 8601 time"),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe("Page size, at most 200 (default 50)"),
  cursor: z.string().min(1).max(200).optional().describe("next_cursor of the previous page"),
});

/** Body of `PATCH /v1/incidents/{id}`; the handler validates with this schema. */
export const IncidentPatch = z
  .strictObject({
    status: SettableStatus.optional(),
    assignee: z.string().trim().min(1).max(200).nullable().optional().describe("Who owns it; null unassigns"),
    note: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .optional()
      .describe("A note added to the incident (at most 2,000 characters; the newest 50 are kept)"),
  })
  .refine((b) => b.status !== undefined || b.assignee !== undefined || b.note !== undefined, {
    message: "give at least one of status, assignee, note",
  });
export type IncidentPatch = z.infer<typeof IncidentPatch>;

export const IncidentPage = z.object({
  incidents: z.array(Incident),
  next_cursor: z.string().optional().describe("Absent on the last page"),
});
const TimelineEntry = z.looseObject({
  time: z.number().int(),
  kind: z.enum(["alert", "decision", "action", "status", "assignee", "merged", "note"]),
});
export const IncidentTimeline = z.object({
  incident_id: z.string(),
  entries: z.array(TimelineEntry).describe("Oldest first"),
  alerts_untracked: z
    .number()
    .int()
    .describe("Alerts counted in the incident beyond its alert_ids list, or with no trail kept, so not in entries"),
});
