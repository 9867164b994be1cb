/**
 * Office 365 Management Activity API audit records (any workload; `Audit.AzureActiveDirectory`, `Audit.Exchange`,
 * `Audit.SharePoint`, ...): UserLoggedIn / UserLoginFailed become OCSF Authentication; directory changes ("Update
 * user.", "Add member to role." ...), mailbox and file operations are mapped by m365-audit.ts. A different envelope
 * from Entra's own sign-in logs (see entra-signin.ts).
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { m365Activity } from "./m365-audit.ts";
import { arr, ciGet, ciStr, compact, get, ip, str } from "./util.ts";
import { eventTime } from "./finalize.ts";

const SIGN_IN: Record<string, readonly [number, string]> = {
  userloggedin: [1, "Success"],
  userloginfailed: [2, "Failure"],
};

/** ExtendedProperties is a list of {Name, Value}. */
function extended(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of arr(v, "ExtendedProperties")) {
    const name = str(p, "Name");
    const value = str(p, "Value");
    if (name && value !== undefined) out[name] = value;
  }
  return out;
}

/** M365 unified audit log records: sign-ins here, every other operation and workload in m365-audit.ts. */
export const m365AzureAdAudit: Normalizer = {
  format: "m365_azure_ad_audit",
  aliases: ["m365_aad", "o365_azure_ad", "m365_audit", "o365_audit"],
  detect: (e: RawEvent) =>
    e.kind === "json" &&
    typeof ciGet(e.value, "Operation") === "string" &&
    typeof ciGet(e.value, "CreationTime") === "string" &&
    typeof ciGet(e.value, "RecordType") === "number" &&
    (typeof ciGet(e.value, "Workload") === "string" ||
      typeof ciGet(e.value, "AzureActiveDirectoryEventType") === "number"),
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("M365 audit records are JSON");
    const v = raw.value;
    const operation = ciStr(v, "Operation");
    if (!operation) throw new Error("M365 audit record without Operation");
    const op = operation.toLowerCase();
    const outcome = Object.hasOwn(SIGN_IN, op) ? SIGN_IN[op] : undefined;
    if (!outcome) return m365Activity(v, operation);
    const user = ciStr(v, "UserId");
    if (!user) throw new Error(`M365 ${operation} without UserId`);
    const created = str(v, "CreationTime");
    const t = eventTime(created);
    const [statusId, status] = outcome;
    const props = extended(v);
    const logonError = str(v, "LogonError");
    const draft: Draft = {
      class_uid: 3002,
      activity_id: 1,
      activity_name: "Logon",
      time: t,
      severity_id: 1,
      status_id: statusId,
      status,
      message: `${operation} for ${user}${statusId === 2 && logonError ? `: ${logonError}` : ""}`,
      user: compact({
        name: user,
        uid: str(v, "UserKey"),
        email_addr: user.includes("@") ? user : undefined,
      }),
      src_endpoint: compact({ ip: ip(v["ClientIP"]) ?? ip(v["ActorIpAddress"]) }),
      ...(str(v, "ApplicationId") ? { service: { uid: str(v, "ApplicationId") as string } } : {}),
      metadata: compact({
        product: { vendor_name: "Microsoft", name: "Microsoft 365 audit (Azure Active Directory)" },
        uid: str(v, "Id"),
        original_time: created,
        log_name: "Audit.AzureActiveDirectory",
        event_code: operation,
      }),
      unmapped: compact({
        logon_error: logonError,
        result_status: str(v, "ResultStatus"),
        result_status_detail: props["ResultStatusDetail"],
        request_type: props["RequestType"],
        user_agent: props["UserAgent"],
        auth_method: props["UserAuthenticationMethod"],
        organization_id: str(v, "OrganizationId"),
        record_type: get(v, "RecordType"),
      }),
    };
    return draft;
  },
};
