/**
 * Google Workspace Alert Center alerts (alertcenter.alerts: `alertId`, `data.@type`, `metadata.severity`).
 * Admin SDK Reports activity events are recognised here and mapped by google-workspace-activity.ts.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { arr, compact, get, ip, obj, severityFromWord, str, time, type Obj } from "./util.ts";
import { eventTime } from "./finalize.ts";
import { googleActivity } from "./google-workspace-activity.ts";

const ALERT_TYPE_PREFIX = "type.googleapis.com/google.apps.alertcenter.type.";

/** Alert types that are service notices, not security alerts: kept as Base Events. */
const NOT_SECURITY: Record<string, string> = {
  AppsOutage: "a Google Workspace service status notice",
};

/** Alert types whose `data.email` is the admin who acted, not an affected user. */
const ACTOR_IS_EMAIL = new Set(["DomainWideTakeoutInitiated"]);

const STATUS: Record<string, readonly [number, string]> = {
  NOT_STARTED: [1, "New"],
  IN_PROGRESS: [2, "In Progress"],
  CLOSED: [4, "Resolved"],
};

const email = (v: unknown) =>
  typeof v === "string" && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v.trim()) ? v.trim() : undefined;

const isAlert = (v: Obj) =>
  typeof v["alertId"] === "string" &&
  typeof v["customerId"] === "string" &&
  typeof get(v, "data.@type") === "string" &&
  (get(v, "data.@type") as string).startsWith(ALERT_TYPE_PREFIX);

const isActivity = (v: Obj) =>
  v["kind"] === "admin#reports#activity" ||
  (typeof get(v, "id.applicationName") === "string" &&
    (get(v, "id.uniqueQualifier") !== undefined ||
      obj(v, "actor") !== undefined ||
      Array.isArray(v["events"]) ||
      typeof v["name"] === "string" ||
      typeof v["type"] === "string"));

/** The user the alert is about: the first e-mail address among the type-specific fields. */
function affectedUser(d: Obj | undefined, dataType: string): string | undefined {
  const candidates = [
    ACTOR_IS_EMAIL.has(dataType) ? undefined : get(d, "email"),
    arr(d, "affectedUserEmails")[0],
    get(d, "ruleViolationInfo.triggeringUserEmail"),
    get(d, "superAdminPasswordResetEvent.userEmail"),
    get(arr(d, "messages")[0], "recipient"),
    arr(arr(d, "requestInfo")[0], "appDeveloperEmail")[0],
    get(d, "appleId"),
    get(d, "primaryAdminChangedEvent.updatedAdminEmail"),
  ];
  return candidates.map(email).find((x) => x !== undefined);
}

/** Phishing / malware alert messages as email evidences (with attachment hashes). */
function messageEvidences(d: Obj | undefined): Array<Record<string, unknown>> {
  const from = email(get(d, "maliciousEntity.fromHeader")) ?? email(get(d, "maliciousEntity.entity.emailAddress"));
  return arr(d, "messages")
    .slice(0, 10)
    .map((m) => {
      const hashes = arr(m, "attachmentsSha256Hash")
        .filter((h): h is string => typeof h === "string" && /^[0-9a-f]{64}$/i.test(h))
        .map((value) => ({ algorithm: "SHA-256", value }));
      const to = email(get(m, "recipient"));
      return compact({
        email: compact({ from, to: to ? [to] : [], subject: str(m, "subjectText"), message_uid: str(m, "messageId") }),
        file: hashes.length ? { hashes } : undefined,
      });
    });
}

/**
 * What the alert is about besides a person: the DLP-scanned document, then the Workspace customer itself — the
 * affected entity of account-wide alerts (AccountSuspensionWarning, ActivityRule, ReportingRule, takeouts).
 */
function alertResources(v: Obj, d: Obj | undefined): Array<{ uid: string; name?: string | undefined; type: string }> {
  const doc = str(d, "ruleViolationInfo.resourceInfo.documentId");
  const customer = str(v, "customerId");
  const domain = str(d, "domainId.customerPrimaryDomain") ?? str(d, "domain");
  return [
    ...(doc
      ? [compact({ uid: doc, name: str(d, "ruleViolationInfo.resourceInfo.resourceTitle"), type: "Drive document" })]
      : []),
    ...(customer ? [compact({ uid: customer, name: domain, type: "Google Workspace customer" })] : []),
  ];
}

function investigationLink(v: Obj): string | undefined {
  const link = str(v, "securityInvestigationToolLink");
  if (!link || !/^(https:\/\/)?[a-z0-9.-]+\.[a-z]{2,}\//i.test(link)) return undefined;
  return link.startsWith("https://") ? link : `https://${link}`;
}

function normalizeAlert(v: Obj): Draft {
  const dataType = (get(v, "data.@type") as string).trim().slice(ALERT_TYPE_PREFIX.length);
  const notice = Object.hasOwn(NOT_SECURITY, dataType) ? NOT_SECURITY[dataType] : undefined;
  // Understood, not a security alert: a Base Event the rules may ignore (or the source's class filter drop).
  if (notice)
    return {
      class_uid: 0,
      activity_id: 99,
      activity_name: "Other",
      time: eventTime(str(v, "createTime")),
      severity_id: 1,
      message: `${str(v, "type") ?? dataType}: ${notice}`,
      metadata: compact({
        product: { vendor_name: "Google", name: "Google Workspace Alert Center" },
        uid: str(v, "alertId"),
        original_time: str(v, "createTime"),
        log_name: "alertcenter",
        event_code: dataType,
      }),
      unmapped: compact({ customer_id: str(v, "customerId"), source: str(v, "source") }),
    };
  const alertId = str(v, "alertId") as string;
  const timeStr = str(v, "createTime");
  const t = eventTime(timeStr);
  const d = obj(v, "data");
  const title = str(v, "type") ?? str(d, "title") ?? dataType;
  const source = str(v, "source");
  const ruleName = str(d, "displayName") ?? str(d, "ruleViolationInfo.ruleInfo.displayName") ?? str(d, "name");
  const user = affectedUser(d, dataType);
  const actor = email(get(d, "actorEmail")) ?? (ACTOR_IS_EMAIL.has(dataType) ? email(get(d, "email")) : undefined);
  const device = arr(d, "events")[0];
  const deleted = v["deleted"] === true;
  const [statusId, status] = deleted
    ? [6, "Deleted"]
    : (STATUS[str(v, "metadata.status") ?? "NOT_STARTED"] ?? [99, "Other"]);
  const src = compact({
    ip: ip(get(d, "sourceIp")) ?? ip(get(d, "loginDetails.ipAddress")) ?? ip(get(d, "ipAddress")),
  });
  const draft: Draft = {
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: t,
    severity_id: severityFromWord(str(v, "metadata.severity")),
    status_id: statusId,
    status,
    message: title,
    is_alert: true,
    finding_info: compact({
      uid: alertId,
      title,
      desc: str(d, "description"),
      types: [dataType],
      analytic: compact({
        uid: dataType,
        name: ruleName ?? source ?? dataType,
        type_id: 1,
        type: "Rule",
        category: source,
      }),
      created_time: t,
      first_seen_time: time(get(v, "startTime")),
      last_seen_time: time(get(v, "endTime")),
      src_url: investigationLink(v),
    }),
    user: compact({ name: user, email_addr: user }),
    ...(actor ? { actor: { user: { name: actor, email_addr: actor } } } : {}),
    device: compact({ uid: str(device, "deviceId"), type: str(device, "deviceType") }),
    src_endpoint: src,
    evidences: [...messageEvidences(d), ...(Object.keys(src).length ? [{ src_endpoint: src }] : [])],
    resources: alertResources(v, d),
    metadata: compact({
      product: { vendor_name: "Google", name: "Google Workspace Alert Center" },
      uid: alertId,
      original_time: timeStr,
      log_name: "alertcenter",
      event_code: dataType,
    }),
    unmapped: compact({
      customer_id: str(v, "customerId"),
      source,
      domain: str(d, "domainId.customerPrimaryDomain") ?? str(d, "domain"),
      assignee: str(v, "metadata.assignee"),
      system_action: str(d, "systemActionType"),
      is_internal: typeof get(d, "isInternal") === "boolean" ? get(d, "isInternal") : undefined,
      deleted: deleted || undefined,
    }),
  };
  return compact(draft);
}

/** Alert Center alerts, and Admin SDK activity events (see google-workspace-activity.ts). */
export const googleWorkspaceAlert: Normalizer = {
  format: "google_workspace_alert",
  aliases: ["google_workspace", "gws"],
  detect: (e: RawEvent) => e.kind === "json" && (isAlert(e.value) || isActivity(e.value)),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("Alert Center alerts are JSON");
    const v = e.value;
    if (isAlert(v)) return normalizeAlert(v);
    if (isActivity(v)) return googleActivity(v);
    throw new Error("not a Google Workspace Alert Center alert (alertId, customerId, data.@type)");
  },
};
