/**
 * Falcon event-stream audit records (AuthActivityAuditEvent, UserActivityAuditEvent): sign-ins to the Falcon console
 * and API become OCSF Authentication; the other operations are refused with the OCSF class they would need.
 * Fields as the Falcon SIEM connector / event streams deliver them (UserId, UserIp, OperationName, ServiceName,
 * Success, UTCTimestamp, AuditKeyValues[{Key, ValueString}], Attributes).
 */
import type { Draft, Rejection } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, compact, dict, get, ip, str } from "./util.ts";
import { eventTime } from "./finalize.ts";

/** OperationName values that are a user authenticating to Falcon (Elastic's CrowdStrike pipeline files these as authentication). */
const SIGN_INS: Record<string, { mfa: boolean }> = {
  userauthenticate: { mfa: false },
  twofactorauthenticate: { mfa: true },
};

/** The OCSF class an audit operation would need, for the refusal's reason. */
function classFor(operation: string, service: string): string {
  const op = operation.toLowerCase();
  if (/^(create|delete|activate|deactivate|update)user$|password/.test(op)) return "Account Change (3001)";
  if (/role|subscription/.test(op)) return "User Access Management (3005)";
  if (/allowlist|apiclient|policy|group|rule/.test(op)) return "Entity Management (3004)";
  if (/stream|logged/.test(op) || /api/i.test(service)) return "API Activity (6003)";
  return "an OCSF class Riposte does not emit yet";
}

/** AuditKeyValues (`[{Key, ValueString}]`) and Attributes as one map. */
function auditValues(e: Obj): Record<string, string> {
  const out = dict<string>();
  for (const kv of arr(e, "AuditKeyValues")) {
    const k = str(kv, "Key");
    const v = str(kv, "ValueString");
    if (k && v !== undefined) out[k] = v;
  }
  const attrs = get(e, "Attributes");
  if (attrs && typeof attrs === "object" && !Array.isArray(attrs))
    for (const [k, v] of Object.entries(attrs)) if (typeof v === "string" && !(k in out)) out[k] = v;
  return out;
}

/** An audit record as OCSF Authentication, or a refusal saying which class it would need. */
export function auditDraft(type: string, meta: Obj, e: Obj): Draft | Rejection {
  const operation = str(e, "OperationName") ?? "";
  const service = str(e, "ServiceName") ?? "";
  const signIn = SIGN_INS[operation.toLowerCase()];
  if (!signIn) {
    return reject(
      `CrowdStrike ${type} "${operation || "unknown operation"}"${service ? ` (${service})` : ""} is console/API audit activity for ${classFor(operation, service)}, not a sign-in: only userAuthenticate and twoFactorAuthenticate records map to Authentication (3002); filter the others at the Falcon event stream`,
    );
  }
  const userId = str(e, "UserId");
  if (!userId) throw new Error(`CrowdStrike ${type} ${operation} without UserId`);
  const success = get(e, "Success");
  const ok = success === true || success === "true";
  const failed = success === false || success === "false";
  const statusId = ok ? 1 : failed ? 2 : 0;
  const originalTime = e["UTCTimestamp"] ?? meta["eventCreationTime"];
  const values = auditValues(e);
  const draft: Draft = {
    class_uid: 3002,
    activity_id: 1,
    activity_name: "Logon",
    time: eventTime(e["UTCTimestamp"], meta["eventCreationTime"], e["timestamp"]),
    severity_id: 1,
    status_id: statusId,
    status: statusId === 1 ? "Success" : statusId === 2 ? "Failure" : "Unknown",
    message: `Falcon ${signIn.mfa ? "two-factor " : ""}sign-in ${ok ? "succeeded" : failed ? "failed" : "attempted"} for ${userId}`,
    user: compact({
      name: userId,
      email_addr: userId.includes("@") ? userId : undefined,
      type: userId.startsWith("API:") ? "API Client" : undefined,
    }),
    src_endpoint: compact({ ip: ip(e["UserIp"]) }),
    is_mfa: signIn.mfa,
    service: { name: service || "CrowdStrike Falcon" },
    metadata: compact({
      product: { vendor_name: "CrowdStrike", name: "Falcon" },
      original_time:
        typeof originalTime === "string" || typeof originalTime === "number" ? String(originalTime) : undefined,
      log_name: type,
      event_code: operation,
    }),
    unmapped: compact({
      customer_id: str(meta, "customerIDString"),
      offset: str(meta, "offset"),
      audit: Object.keys(values).length > 0 ? values : undefined,
    }),
  };
  return draft;
}
