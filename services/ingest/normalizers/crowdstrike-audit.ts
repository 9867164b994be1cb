/**
 * Falcon event-stream audit records (AuthActivityAuditEvent, UserActivityAuditEvent) by OperationName: console and
 * API sign-ins → Authentication (3002); user lifecycle and password changes → Account Change (3001); role grants and
 * revocations → User Access Management (3005); API clients, allowlists, policies, groups and rules created, changed
 * or deleted → Entity Management (3004); any other console / API operation (detection and incident updates, stream
 * starts) → API Activity (6003). Fields as the Falcon SIEM connector / event streams deliver them (UserId, UserIp,
 * OperationName, ServiceName, Success, UTCTimestamp, AuditKeyValues[{Key, ValueString}], Attributes), the
 * operation names as CrowdStrike's Streaming API event dictionary and the Falcon audit-log parsers (Elastic's
 * crowdstrike `falcon` pipeline, Exabeam's Falcon app-activity parsers) list them.
 */
import type { Draft } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, compact, dict, get, ip, str } from "./util.ts";
import { eventTime } from "./finalize.ts";

interface Activity {
  readonly class_uid: 3001 | 3002 | 3004 | 3005 | 6003;
  readonly activity_id: number;
  readonly activity_name: string;
  readonly mfa?: boolean;
}

const a = (class_uid: Activity["class_uid"], activity_id: number, activity_name: string, mfa?: boolean): Activity =>
  mfa === undefined ? { class_uid, activity_id, activity_name } : { class_uid, activity_id, activity_name, mfa };

/** Operations with an exact OCSF activity (lower-cased OperationName). */
const OPERATIONS: Record<string, Activity> = {
  userauthenticate: a(3002, 1, "Logon", false),
  twofactorauthenticate: a(3002, 1, "Logon", true),
  userlogout: a(3002, 2, "Logoff", false),
  createuser: a(3001, 1, "Create"),
  activateuser: a(3001, 2, "Enable"),
  changepassword: a(3001, 3, "Password Change"),
  resetpassword: a(3001, 4, "Password Reset"),
  requestresetpassword: a(3001, 4, "Password Reset"),
  deactivateuser: a(3001, 5, "Disable"),
  deleteuser: a(3001, 6, "Delete"),
  reset2fa: a(3001, 11, "MFA Factor Disable"),
  resettwofactor: a(3001, 11, "MFA Factor Disable"),
  updateuser: a(3001, 99, "Other"),
  grantuserroles: a(3005, 3, "Assign Role"),
  revokeuserroles: a(3005, 4, "Remove Role"),
};

/** Entity Management verbs by the operation's leading word (`CreateAPIClient`, `delete_policy`, `UpdateAllowlistGroup`). */
const ENTITY_VERBS: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^(create|add|new)/, 1, "Create"],
  [/^(update|modify|change|set|reset|rename)/, 3, "Update"],
  [/^(delete|remove)/, 4, "Delete"],
  [/^enable/, 8, "Enable"],
  [/^disable/, 9, "Disable"],
];
const ENTITY_NOUN = /apiclient|allowlist|policy|policies|group|rule|exclusion|ioc|role|setting|key|token/;

/** The OCSF class and activity of an audit operation. */
export function auditActivity(operation: string): Activity {
  const op = operation.toLowerCase().replace(/[\s-]/g, "");
  const exact = OPERATIONS[op];
  if (exact) return exact;
  const verb = ENTITY_VERBS.find(([re]) => re.test(op.replace(/_/g, "")));
  if (verb && ENTITY_NOUN.test(op)) return a(3004, verb[1], verb[2]);
  if (verb) {
    const id = verb[1] === 1 || verb[1] === 4 ? verb[1] : 3;
    return a(6003, id, id === 1 ? "Create" : id === 4 ? "Delete" : "Update");
  }
  if (/_update$|update/.test(op)) return a(6003, 3, "Update");
  if (/(get|list|query|read|view|search|download|stream)/.test(op)) return a(6003, 2, "Read");
  return a(6003, 99, "Other");
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

const nonEmpty = (s: string | undefined) => (s && s.trim() !== "" && s !== "none" ? s : undefined);

/** A Falcon user id (an email, or `API:<client>` for API clients) as an OCSF user. */
function userNamed(name: string | undefined, uid?: string) {
  if (!name && !uid) return undefined;
  return compact({
    name,
    uid,
    email_addr: name?.includes("@") ? name : undefined,
    type: name?.startsWith("API:") ? "API Client" : undefined,
  });
}

/** The entity an Entity Management operation acted on, from its audit values. */
function entityOf(values: Record<string, string>, operation: string) {
  const kind = /allowlist/i.test(operation)
    ? "Allowlist Group"
    : /apiclient/i.test(operation)
      ? "API Client"
      : operation.replace(/^(create|update|delete|add|remove|enable|disable|modify|set|reset)_?/i, "");
  return compact({
    uid: nonEmpty(values["allowlist_group_id"] ?? values["APIClientID"] ?? values["id"] ?? values["policy_id"]),
    name: nonEmpty(values["group_name"] ?? values["name"] ?? values["policy_name"]),
    type: kind || undefined,
  });
}

/** An audit record as the OCSF class of its operation. */
export function auditDraft(type: string, meta: Obj, e: Obj): Draft {
  const operation = str(e, "OperationName") ?? "";
  const service = str(e, "ServiceName") ?? "";
  const activity = auditActivity(operation);
  const values = auditValues(e);
  const userId = str(e, "UserId") ?? nonEmpty(values["actor_user"]);
  const actorUser = userNamed(userId, nonEmpty(values["actor_user_uuid"]));
  const targetName = nonEmpty(values["target_name"] ?? values["action_target_name"]);
  const targetUser = userNamed(targetName, nonEmpty(values["target_user_uuid"] ?? values["target_uuid"]));
  const success = get(e, "Success");
  const ok = success === true || success === "true";
  const failed = success === false || success === "false";
  const statusId = ok ? 1 : failed ? 2 : 0;
  const originalTime = e["UTCTimestamp"] ?? meta["eventCreationTime"];
  const src = compact({ ip: ip(e["UserIp"]) });
  const common = {
    activity_id: activity.activity_id,
    activity_name: activity.activity_name,
    time: eventTime(e["UTCTimestamp"], meta["eventCreationTime"], e["timestamp"]),
    severity_id: 1,
    status_id: statusId,
    status: statusId === 1 ? "Success" : statusId === 2 ? "Failure" : "Unknown",
    message: `Falcon ${operation || type} ${ok ? "succeeded" : failed ? "failed" : "recorded"}${userId ? ` by ${userId}` : ""}${targetName && targetName !== userId ? ` on ${targetName}` : ""}`,
    ...(Object.keys(src).length > 0 ? { src_endpoint: src } : {}),
    metadata: compact({
      product: { vendor_name: "CrowdStrike", name: "Falcon" },
      original_time:
        typeof originalTime === "string" || typeof originalTime === "number" ? String(originalTime) : undefined,
      log_name: type,
      event_code: operation || undefined,
      correlation_uid: nonEmpty(values["trace_id"]),
    }),
    unmapped: compact({
      customer_id: str(meta, "customerIDString"),
      offset: str(meta, "offset"),
      service_name: service || undefined,
      audit: Object.keys(values).length > 0 ? { ...values } : undefined,
    }),
  };
  const actor = actorUser ? { user: actorUser } : {};
  switch (activity.class_uid) {
    case 3002:
      if (actorUser)
        return {
          ...common,
          class_uid: 3002,
          message: `Falcon ${activity.mfa ? "two-factor " : ""}sign-in ${ok ? "succeeded" : failed ? "failed" : "attempted"} for ${userId}`,
          user: actorUser,
          is_mfa: activity.mfa ?? false,
          service: { name: service || "CrowdStrike Falcon" },
        };
      break;
    case 3001:
    case 3005: {
      const user = targetUser ?? actorUser;
      if (!user) break;
      const roles = (values["roles"] ?? "").split(/[,\s]+/).filter((r) => r !== "");
      return activity.class_uid === 3001
        ? { ...common, class_uid: 3001, user, actor }
        : { ...common, class_uid: 3005, user, actor, ...(roles.length > 0 ? { privileges: roles } : {}) };
    }
    case 3004:
      return { ...common, class_uid: 3004, actor, entity: entityOf(values, operation) };
    default:
      break;
  }
  return {
    ...common,
    ...(activity.class_uid === 6003 ? {} : { activity_id: 99, activity_name: "Other" }),
    class_uid: 6003,
    actor,
    ...(targetUser ? { user: targetUser } : {}),
    api: compact({ operation: operation || type, service: compact({ name: service || undefined }) }),
  };
}
