/**
 * The audit of writes through the API: one record on `<prefix>.audit` per write an API token made (allowed or
 * refused), published after the handler and before the answer; when it cannot be published the answer is 503, so
 * no write is acknowledged unaudited. The request summary holds the body's fields, values shortened, anything
 * named like a secret dropped; tokens are never in it (the actor is the token's name).
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { ROLES } from "../shared/roles.ts";

export const ApiAuditRecord = z.object({
  id: z.string(),
  at: z.number().int(),
  actor: z.string().describe("The token's name"),
  role: z.enum(ROLES),
  action: z.string().describe("incident.update, approval.approve, guards.kill_switch, rules.reload, dlq.replay, ..."),
  target: z.string(),
  method: z.string(),
  path: z.string(),
  request: z.record(z.string(), z.unknown()).describe("What was asked (body fields, shortened; no secrets)"),
  remote: z.string().describe("The client's address"),
  result: z.object({ status: z.number().int(), code: z.string().optional() }),
});
export type ApiAuditRecord = z.infer<typeof ApiAuditRecord>;

const SECRET = /token|secret|password|passwd|authorization|credential|api[_-]?key/i;
const MAX_FIELDS = 20;
const MAX_TEXT = 200;

function shorten(v: unknown, depth = 0): unknown {
  if (typeof v === "string") return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
  if (v === null || typeof v !== "object") return v;
  if (depth >= 2) return Array.isArray(v) ? `[${v.length} items]` : "{…}";
  if (Array.isArray(v)) return v.slice(0, MAX_FIELDS).map((x) => shorten(x, depth + 1));
  return summarize(v as Record<string, unknown>, depth + 1);
}

function summarize(o: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o).slice(0, MAX_FIELDS))
    out[k.slice(0, 64)] = SECRET.test(k) ? "[redacted]" : shorten(v, depth);
  return out;
}

/** A request body's summary for the audit: its JSON object's fields, or its size when it is not one. */
export function requestSummary(body: unknown): Record<string, unknown> {
  const bytes = Buffer.isBuffer(body) ? body : undefined;
  if (!bytes || bytes.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(bytes.toString("utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return summarize(parsed as Record<string, unknown>);
  } catch {
    /* not JSON: only its size */
  }
  return { bytes: bytes.length };
}

/** The error code of an answer's payload, when it is a catalogue error. */
export function errorCodeOf(payload: unknown): string | undefined {
  if (typeof payload !== "string" || !payload.startsWith('{"error"')) return undefined;
  return /^\{"error":\{"code":"([A-Z0-9_]+)"/.exec(payload)?.[1];
}

export function auditRecord(r: Omit<ApiAuditRecord, "id" | "at">, at = Date.now()): ApiAuditRecord {
  return { id: randomUUID(), at, ...r };
}
