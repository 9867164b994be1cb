/**
 * `create_incident`: one incident per dedup key, kept as its correlation_id. The key is looked up first; a second
 * decision about the same incident adds a work note to it instead of opening another. Not idempotent: after an
 * attempt of unknown outcome `verify` looks the correlation_id up, and nothing is re-sent blindly.
 */
import { z } from "zod";
import { RiposteError, isRiposteError } from "../../../shared/errors.ts";
import { action } from "../types.ts";
import { DEDUP_KEY, SN_REQUESTS, type IncidentRef, type ServiceNowClient } from "./transport.ts";

const Level = z.enum(["1", "2", "3"]);

export const CreateIncidentInput = z.strictObject({
  /** ServiceNow's short_description holds 160 characters: longer is cut, newlines become spaces. */
  short_description: z
    .string()
    .trim()
    .min(1)
    .transform((s) => s.replace(/\s+/g, " "))
    .transform((s) => (s.length > 160 ? `${s.slice(0, 159)}…` : s)),
  description: z.string().max(30_000).default(""),
  dedup_key: z.string().regex(DEDUP_KEY, "a dedup key is 1-100 letters, digits, '.', '_', ':' or '-'").optional(),
  /** The work note added to the existing incident when the key has one (default: the description). */
  work_notes: z.string().max(30_000).optional(),
  urgency: Level.default("2"),
  impact: Level.default("2"),
  category: z.string().trim().max(40).optional(),
  /** An assignment group's sys_id or name. */
  assignment_group: z.string().trim().max(100).optional(),
});
type CreateIncident = z.infer<typeof CreateIncidentInput>;

export function incidentFields(input: CreateIncident): Record<string, string> {
  return {
    short_description: input.short_description,
    description: input.description || input.short_description,
    urgency: input.urgency,
    impact: input.impact,
    ...(input.dedup_key ? { correlation_id: input.dedup_key, correlation_display: "Riposte" } : {}),
    ...(input.category ? { category: input.category } : {}),
    ...(input.assignment_group ? { assignment_group: input.assignment_group } : {}),
  };
}

/** A timeout or a 5xx: the insert may have reached ServiceNow. */
const mayHaveActed = (e: unknown) =>
  isRiposteError(e) && (e.code === "RIPOSTE_CONNECTOR_TIMEOUT" || e.code === "RIPOSTE_CONNECTOR_UNAVAILABLE");

async function addNote(client: ServiceNowClient, incident: IncidentRef, input: CreateIncident, signal: AbortSignal) {
  const res = await client.call(
    SN_REQUESTS.update(incident.sys_id, { work_notes: note(input) }),
    signal,
    "add work note",
  );
  return { ...client.ref(client.result(res, "add work note"), "add work note"), created: false };
}

async function open(client: ServiceNowClient, input: CreateIncident, signal: AbortSignal) {
  const res = await client.call(SN_REQUESTS.create(incidentFields(input)), signal, "create incident");
  return { ...client.ref(client.result(res, "create incident"), "create incident"), created: true };
}

const note = (input: CreateIncident) => input.work_notes ?? (input.description || input.short_description);

export const createIncident = action({
  classification: "ticket",
  idempotent: false,
  description:
    "Open a ServiceNow incident; with dedup_key (the incident id, kept as correlation_id), add a work note to the incident already open for it instead",
  input: CreateIncidentInput,
  resolve: async (client: ServiceNowClient, { input, signal }) => {
    const found = input.dedup_key ? await client.findByCorrelation(input.dedup_key, signal) : undefined;
    return { id: found?.sys_id ?? "", detail: found ? { found: true, ...found } : { found: false } };
  },
  verify: async (client: ServiceNowClient, { input, signal }) => {
    if (!input.dedup_key)
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_REJECTED",
        "ServiceNow create_incident without dedup_key cannot be verified (give the step a dedup_key, e.g. the incident id)",
      );
    const recorded = await client.registry.recorded(input.dedup_key);
    const found = recorded
      ? client.ref(recorded, "recorded incident")
      : await client.findByCorrelation(input.dedup_key, signal);
    return {
      done: found !== undefined,
      response: found ? { ...found, created: true, verified: true } : { found: false, verified: true },
    };
  },
  run: async (client: ServiceNowClient, { input, signal, resolved }) => {
    if (resolved?.detail["found"] === true)
      return addNote(client, client.ref(resolved.detail, "search"), input, signal);
    if (!input.dedup_key) return open(client, input, signal);
    // Riposte's own record covers an incident another executor is opening at this moment.
    const claim = await client.registry.claim(input.dedup_key);
    if (claim.state === "recorded") return addNote(client, client.ref(claim.ref, "recorded incident"), input, signal);
    let opened: Record<string, unknown> & IncidentRef;
    try {
      opened = await open(client, input, signal);
    } catch (e) {
      // Kept (until it expires) when ServiceNow may have inserted it: the next decision waits rather than duplicates.
      if (!mayHaveActed(e)) await claim.abandon();
      throw e;
    }
    await claim.finish({ sys_id: opened.sys_id, number: opened.number }).catch(() => undefined);
    return opened;
  },
  preview: (input) => [
    ...(input.dedup_key ? [SN_REQUESTS.findByCorrelation(input.dedup_key)] : []),
    SN_REQUESTS.create(incidentFields(input)),
  ],
});
