/**
 * Microsoft Entra ID (Azure AD) sign-in logs as OCSF Authentication: the Azure Monitor diagnostic record
 * (`category` SignInLogs / NonInteractiveUserSignInLogs / ServicePrincipalSignInLogs / ManagedIdentitySignInLogs,
 * keys in any case), a Log Analytics SigninLogs row, or a bare Graph `signIn`. Directory audit records (AuditLogs) are
 * mapped by entra-audit.ts.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { entraAudit } from "./entra-audit.ts";
import type { Obj } from "./util.ts";
import { ciArr, ciGet, ciObj, ciStr, compact, ip } from "./util.ts";
import { eventTime } from "./finalize.ts";

/** Diagnostic categories and Log Analytics tables (lower case) that hold sign-ins. */
const SIGNIN_LOGS = new Set([
  "signinlogs",
  "noninteractiveusersigninlogs",
  "serviceprincipalsigninlogs",
  "managedidentitysigninlogs",
  "aadnoninteractiveusersigninlogs",
  "aadserviceprincipalsigninlogs",
  "aadmanagedidentitysigninlogs",
]);
const RISK_RANK: Record<string, number> = { none: 0, low: 1, medium: 2, high: 3 };
const RISK_SEVERITY = [1, 2, 3, 4] as const;
const RISK_CAPTION = ["Info", "Low", "Medium", "High"] as const;

const isEnvelope = (v: Obj): boolean =>
  typeof ciGet(v, "category") === "string" && ciObj(v, "properties") !== undefined;
const isGraphSignIn = (v: Obj): boolean =>
  typeof v["id"] === "string" &&
  typeof v["createdDateTime"] === "string" &&
  typeof v["appId"] === "string" &&
  "ipAddress" in v &&
  (typeof v["userPrincipalName"] === "string" || typeof v["servicePrincipalId"] === "string");

/** A directory audit event outside the diagnostic envelope: a Log Analytics AuditLogs row or a Graph directoryAudit. */
const isAuditRow = (v: Obj): boolean =>
  (typeof v["Type"] === "string" && v["Type"].toLowerCase() === "auditlogs") ||
  (typeof ciGet(v, "activityDisplayName") === "string" &&
    ciGet(v, "initiatedBy") !== undefined &&
    (ciGet(v, "targetResources") !== undefined || ciGet(v, "activityDateTime") !== undefined));

/** Entra's own error code: 0 is success. From properties.status, else resultType / resultSignature. */
function errorCodeOf(p: Obj, envelope: Obj): number | "failure" | undefined {
  const code = ciGet(ciObj(p, "status"), "errorCode");
  if (typeof code === "number") return code;
  if (typeof code === "string" && /^\d+$/.test(code)) return Number(code);
  for (const path of ["resultType", "resultSignature"]) {
    const s = (ciStr(envelope, path) ?? "").trim().toLowerCase();
    if (/^\d+$/.test(s)) return Number(s);
    if (s === "success") return 0;
    if (s === "failure" || s === "failed") return "failure";
  }
  return undefined;
}

/** The higher of riskLevelDuringSignIn / riskLevelAggregated, as a rank 0 (none) – 3 (high). */
function riskRank(p: Obj): number | undefined {
  const ranks = [ciStr(p, "riskLevelDuringSignIn"), ciStr(p, "riskLevelAggregated")]
    .map((l) => RISK_RANK[(l ?? "").toLowerCase()])
    .filter((r): r is number => r !== undefined);
  return ranks.length > 0 ? Math.max(...ranks) : undefined;
}

function isMfa(p: Obj): boolean | undefined {
  const req = (ciStr(p, "authenticationRequirement") ?? "").toLowerCase();
  if (req === "multifactorauthentication") return true;
  if (ciStr(ciObj(p, "mfaDetail"), "authMethod")) return true;
  if (req === "singlefactorauthentication") return false;
  return undefined;
}

function logonType(log: string, p: Obj): string | undefined {
  if (log.includes("serviceprincipal")) return "Service Principal";
  if (log.includes("managedidentity")) return "Managed Identity";
  if (log.includes("noninteractive")) return "Non-Interactive";
  const interactive = ciGet(p, "isInteractive");
  return interactive === true ? "Interactive" : interactive === false ? "Non-Interactive" : undefined;
}

/** Entra ID sign-ins (interactive, non-interactive, service principal, managed identity). */
export const entraSignin: Normalizer = {
  format: "entra_signin",
  aliases: ["entra", "azure_ad"],
  detect: (e: RawEvent) => {
    if (e.kind !== "json") return false;
    const v = e.value;
    if (SIGNIN_LOGS.has((typeof v["Type"] === "string" ? v["Type"] : "").toLowerCase()) && "UserPrincipalName" in v)
      return true;
    if (isGraphSignIn(v) || isAuditRow(v)) return true;
    if (!isEnvelope(v)) return false;
    const category = (ciStr(v, "category") ?? "").toLowerCase();
    if (SIGNIN_LOGS.has(category) || /\/providers\/microsoft\.aadiam$/i.test(ciStr(v, "resourceId") ?? "")) return true;
    return (
      category === "auditlogs" &&
      (ciGet(v, "properties.initiatedBy") !== undefined || ciGet(v, "properties.loggedByService") !== undefined)
    );
  },
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("Entra ID sign-in logs are JSON");
    const v = raw.value;
    const envelope = isEnvelope(v);
    const p: Obj = envelope ? (ciObj(v, "properties") as Obj) : v;
    const log = envelope ? (ciStr(v, "category") ?? "") : (ciStr(v, "Type") ?? "signIns");
    if ((envelope && !SIGNIN_LOGS.has(log.toLowerCase())) || (!envelope && isAuditRow(v))) return entraAudit(v, p);
    const upn = ciStr(p, "userPrincipalName");
    const name = upn ?? ciStr(p, "servicePrincipalName") ?? ciStr(p, "userDisplayName");
    const uid = ciStr(p, "userId") ?? ciStr(p, "servicePrincipalId");
    if (!name && !uid) throw new Error("Entra sign-in without userPrincipalName, servicePrincipalName or userId");
    const originalTime = ciStr(p, "createdDateTime") ?? ciStr(v, "time") ?? ciStr(v, "TimeGenerated");
    const t = eventTime(originalTime);
    const code = errorCodeOf(p, v);
    const statusId = code === undefined ? 0 : code === 0 ? 1 : 2;
    const reason = ciStr(ciObj(p, "status"), "failureReason") ?? ciStr(p, "ResultDescription");
    const rank = riskRank(p);
    const location = ciObj(p, "location") ?? ciObj(p, "LocationDetails");
    const device = ciObj(p, "deviceDetail");
    const serviceName = ciStr(p, "resourceDisplayName");
    const serviceUid = [ciStr(p, "ResourceIdentity"), ciStr(p, "resourceId")].find((s) => s && !s.startsWith("/"));
    const app = ciStr(p, "appDisplayName");
    const isSp =
      /serviceprincipal|managedidentity/i.test(log) || (!upn && ciStr(p, "servicePrincipalId") !== undefined);
    const protocol = ciStr(p, "authenticationProtocol");
    const outcome = statusId === 1 ? "succeeded" : statusId === 2 ? "failed" : "attempted";
    const draft: Draft = {
      class_uid: 3002,
      activity_id: 1,
      activity_name: "Logon",
      time: t,
      severity_id: rank === undefined ? 1 : (RISK_SEVERITY[rank] ?? 1),
      status_id: statusId,
      status: statusId === 1 ? "Success" : statusId === 2 ? "Failure" : "Unknown",
      message: `Sign-in ${outcome} for ${name ?? uid}${serviceName ? ` to ${serviceName}` : ""}${statusId === 2 && reason ? `: ${reason}` : ""}`,
      user: compact({
        name,
        uid,
        email_addr: upn?.includes("@") ? upn : undefined,
        full_name: ciStr(p, "userDisplayName"),
        type: isSp ? (/managedidentity/i.test(log) ? "Managed Identity" : "Service Principal") : ciStr(p, "userType"),
      }),
      src_endpoint: compact({
        ip: ip(ciGet(p, "ipAddress")) ?? ip(ciGet(v, "callerIpAddress")),
        hostname: ciStr(device, "displayName"),
        uid: ciStr(device, "deviceId"),
        os: compact({ name: ciStr(device, "operatingSystem") }),
        location: compact({ city: ciStr(location, "city"), country: ciStr(location, "countryOrRegion") }),
      }),
      ...(app ? { actor: { app_name: app } } : {}),
      ...(serviceName || serviceUid ? { service: compact({ name: serviceName, uid: serviceUid }) } : {}),
      ...(protocol && protocol !== "none" ? { auth_protocol: protocol } : {}),
      ...(isMfa(p) !== undefined ? { is_mfa: isMfa(p) as boolean } : {}),
      ...(logonType(log.toLowerCase(), p) ? { logon_type: logonType(log.toLowerCase(), p) as string } : {}),
      ...(rank !== undefined ? { risk_level: RISK_CAPTION[rank] ?? "Info" } : {}),
      metadata: compact({
        product: { vendor_name: "Microsoft", name: "Entra ID" },
        uid: ciStr(p, "id") ?? ciStr(v, "correlationId"),
        original_time: originalTime,
        log_name: log,
        event_code: typeof code === "number" ? String(code) : undefined,
        correlation_uid: ciStr(p, "correlationId") ?? ciStr(v, "correlationId"),
      }),
      unmapped: compact({
        failure_reason: statusId === 2 ? reason : undefined,
        app_id: ciStr(p, "appId"),
        client_app: ciStr(p, "clientAppUsed"),
        user_agent: ciStr(p, "userAgent"),
        conditional_access_status: ciStr(p, "conditionalAccessStatus"),
        risk_state: ciStr(p, "riskState"),
        risk_detail: ciStr(p, "riskDetail"),
        risk_level_during_signin: ciStr(p, "riskLevelDuringSignIn"),
        risk_level_aggregated: ciStr(p, "riskLevelAggregated"),
        risk_event_types: [...ciArr(p, "riskEventTypes_v2"), ...ciArr(p, "riskEventTypes")]
          .map(String)
          .filter((x, i, a) => a.indexOf(x) === i),
        asn: ciStr(p, "autonomousSystemNumber"),
        tenant_id: ciStr(v, "tenantId"),
      }),
    };
    return draft;
  },
};
