/**
 * Microsoft Entra ID directory audit events (Graph `directoryAudit`: activityDisplayName, activityDateTime, category,
 * operationType, result, initiatedBy {user | app}, targetResources [{id, displayName, type, userPrincipalName,
 * modifiedProperties}], additionalDetails; Microsoft's reference: learn.microsoft.com/graph/api/resources/
 * directoryaudit and the "Audit log activities" list, learn.microsoft.com/entra/identity/monitoring-health/
 * reference-audit-activities), as the Azure Monitor `AuditLogs` diagnostic record (the event under `properties`),
 * a Log Analytics AuditLogs row, or a bare Graph object. Keys in any case.
 *
 * By activity: user lifecycle and credentials → Account Change (3001); role membership and RBAC assignments → User
 * Access Management (3005); group membership → Group Management (3006); applications, service principals, policies,
 * domains and devices → Entity Management (3004); anything else → API Activity (6003).
 */
import type { Draft } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { ciArr, ciGet, ciObj, ciStr, compact, dict, ip, type Obj } from "./util.ts";

/** Account Change (3001) activities by activity name (lower case), first match wins. */
const ACCOUNT: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^(add user|invite (external|internal) user|create user)/, 1, "Create"],
  [/^(hard )?delete user/, 6, "Delete"],
  [/^(restore user|enable account)/, 2, "Enable"],
  [/^disable account/, 5, "Disable"],
  [/^(reset (user )?password|admin (started|reset) password)/, 4, "Password Reset"],
  [/^(change (user )?password|change password \(self-service\)|update password)/, 3, "Password Change"],
  [/^(user registered|admin registered|register) security info|^enable strong authentication/, 10, "MFA Factor Enable"],
  [/^(user deleted|admin deleted|delete) security info|^disable strong authentication/, 11, "MFA Factor Disable"],
];

/** Privilege grants and revocations (directory roles, PIM, Azure RBAC, elevate access) → 3005. */
const PRIVILEGE: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^(remove|delete)( eligible)? (member from role|role assignment)|^remove .*from role/, 2, "Revoke Privileges"],
  [
    /^(add|create)( eligible)? (member to role|role assignment)|^add .*to role|elevated their access/,
    1,
    "Assign Privileges",
  ],
];

/** Group membership and lifecycle → 3006. */
const GROUP: ReadonlyArray<readonly [RegExp, number, string]> = [
  [/^add member to group/, 3, "Add User"],
  [/^remove member from group/, 4, "Remove User"],
  [/^add owner to group/, 1, "Assign Privileges"],
  [/^remove owner from group/, 2, "Revoke Privileges"],
  [/^(add|create) group/, 6, "Create"],
  [/^(hard )?delete group/, 5, "Delete"],
];

/** Categories whose changes are to a managed entity (3004) rather than to a person. */
const ENTITY_CATEGORIES = new Set([
  "applicationmanagement",
  "policy",
  "directorymanagement",
  "device",
  "devicemanagement",
  "rolemanagement",
  "authorization",
  "agreement",
  "certificatesandsecrets",
]);

const match = (table: ReadonlyArray<readonly [RegExp, number, string]>, activity: string) =>
  table.find(([re]) => re.test(activity));

/**
 * The person-centred OCSF class and activity of a directory activity name ("Add member to role", "Reset user
 * password." ...), shared with the Microsoft 365 audit log's AzureActiveDirectory operations; undefined otherwise.
 */
export function directoryActivity(
  name: string,
): { class_uid: 3001 | 3005 | 3006; activity_id: number; activity_name: string } | undefined {
  const activity = name.toLowerCase().replace(/\.$/, "");
  for (const [class_uid, table] of [
    [3005, PRIVILEGE],
    [3006, GROUP],
    [3001, ACCOUNT],
  ] as const) {
    const hit = match(table, activity);
    if (hit) return { class_uid, activity_id: hit[1], activity_name: hit[2] };
  }
  return undefined;
}

/** Entity Management activity from operationType, else the activity's verb. */
function entityVerb(operationType: string | undefined, activity: string): readonly [number, string] {
  const op = (operationType ?? "").toLowerCase();
  if (op === "add" || op === "create" || /^(add|create|register|consent)/.test(activity)) return [1, "Create"];
  if (op === "delete" || /^(delete|remove|hard delete)/.test(activity)) return [4, "Delete"];
  if (op === "update" || op === "assign" || op === "unassign" || /^(update|set|change|verify)/.test(activity))
    return [3, "Update"];
  return [99, "Other"];
}

interface Target {
  readonly id?: string | undefined;
  readonly name?: string | undefined;
  readonly type?: string | undefined;
  readonly upn?: string | undefined;
  readonly modified: readonly string[];
}

function targetsOf(p: Obj): Target[] {
  return ciArr(p, "targetResources")
    .slice(0, 20)
    .map((t) => ({
      id: ciStr(t, "id"),
      name: ciStr(t, "displayName"),
      type: ciStr(t, "type"),
      upn: ciStr(t, "userPrincipalName"),
      modified: ciArr(t, "modifiedProperties")
        .map((m) => ciStr(m, "displayName"))
        .filter((x): x is string => x !== undefined),
    }));
}

/** additionalDetails [{key, value}] by key. */
function details(p: Obj): Record<string, string> {
  const out = dict<string>();
  for (const d of ciArr(p, "additionalDetails")) {
    const k = ciStr(d, "key");
    const val = ciStr(d, "value");
    if (k && val !== undefined) out[k] = val;
  }
  return out;
}

const isType = (t: Target, type: string) => t.type?.toLowerCase() === type;

/** A directory audit record (envelope `v`, event `p`) as OCSF; see the module comment. */
export function entraAudit(v: Obj, p: Obj): Draft {
  const activityText = ciStr(p, "activityDisplayName") ?? ciStr(v, "operationName") ?? ciStr(p, "operationName") ?? "";
  const activity = activityText.toLowerCase().replace(/\.$/, "");
  const category = (ciStr(p, "category") ?? ciStr(v, "category") ?? "").toLowerCase();
  const operationType = ciStr(p, "operationType");
  const initiator = ciObj(p, "initiatedBy");
  const byUser = ciObj(initiator, "user");
  const byApp = ciObj(initiator, "app");
  const more = details(p);
  const actorUpn = ciStr(byUser, "userPrincipalName");
  const actor = compact({
    user: compact({
      name: actorUpn ?? ciStr(byUser, "displayName"),
      uid: ciStr(byUser, "id"),
      email_addr: actorUpn?.includes("@") ? actorUpn : undefined,
      full_name: ciStr(byUser, "displayName"),
    }),
    app_name: ciStr(byApp, "displayName") ?? ciStr(byApp, "servicePrincipalName"),
  });
  const src = compact({
    ip: ip(ciGet(byUser, "ipAddress")) ?? ip(ciGet(v, "callerIpAddress")) ?? ip(more["ipaddr"]),
  });
  const result = (ciStr(p, "result") ?? ciStr(v, "result") ?? ciStr(v, "resultType") ?? "").toLowerCase();
  const [statusId, status] =
    result === "success" ? [1, "Success"] : /fail|timeout/.test(result) ? [2, "Failure"] : [0, "Unknown"];
  const reason = ciStr(p, "resultReason");
  const originalTime = ciStr(p, "activityDateTime") ?? ciStr(v, "time") ?? ciStr(v, "TimeGenerated");
  const targets = targetsOf(p);
  const userTarget = targets.find((t) => isType(t, "user"));
  const targetUser = userTarget
    ? compact({
        name: userTarget.upn ?? userTarget.name,
        uid: userTarget.id,
        email_addr: userTarget.upn?.includes("@") ? userTarget.upn : undefined,
        full_name: userTarget.name,
      })
    : undefined;
  const invited = more["invitedUserEmailAddress"];
  const shared = {
    time: eventTime(originalTime),
    status_id: statusId,
    status,
    ...(Object.keys(src).length ? { src_endpoint: src } : {}),
    ...(Object.keys(actor).length ? { actor } : {}),
    metadata: compact({
      product: { vendor_name: "Microsoft", name: "Entra ID" },
      uid: ciStr(p, "id"),
      original_time: originalTime,
      log_name: "AuditLogs",
      event_code: activityText || undefined,
      correlation_uid: ciStr(p, "correlationId") ?? ciStr(v, "correlationId"),
    }),
    unmapped: compact({
      category: ciStr(p, "category") ?? ciStr(v, "category"),
      operation_type: operationType,
      logged_by_service: ciStr(p, "loggedByService"),
      result_reason: reason,
      targets: targets.map((t) => compact({ id: t.id, name: t.name, type: t.type, upn: t.upn })),
      modified_properties: [...new Set(targets.flatMap((t) => t.modified))],
      details: Object.keys(more).length ? more : undefined,
      tenant_id: ciStr(v, "tenantId") ?? ciStr(p, "tenantId"),
    }),
  };
  const by = actor.user?.name ?? actor.app_name;
  const tail = `${statusId === 2 ? " (failed" + (reason ? `: ${reason}` : "") + ")" : ""}${by ? ` by ${by}` : ""}`;

  const privilege = match(PRIVILEGE, activity);
  if (privilege) {
    const role =
      targets.find((t) => isType(t, "role"))?.name ??
      more["RoleName"] ??
      (/user access administrator/i.test(activityText) ? "User Access Administrator" : undefined);
    // Elevate access has no target: the initiator elevated themself.
    const user: { name?: string | undefined } =
      targetUser ?? (activity.includes("elevated their access") ? actor.user : undefined) ?? {};
    return {
      class_uid: 3005,
      activity_id: privilege[1],
      activity_name: privilege[2],
      severity_id: 3,
      message: `${activityText}${role ? ` ${role}` : ""}${user.name ? ` for ${user.name}` : ""}${tail}`,
      user: compact(user),
      ...(role ? { privileges: [role] } : {}),
      ...shared,
    };
  }

  const group = match(GROUP, activity);
  if (group) {
    const g = targets.find((t) => isType(t, "group"));
    return {
      class_uid: 3006,
      activity_id: group[1],
      activity_name: group[2],
      severity_id: 1,
      message: `${activityText}${g?.name ? ` ${g.name}` : ""}${targetUser?.name ? ` member ${targetUser.name}` : ""}${tail}`,
      group: compact({ uid: g?.id, name: g?.name, type: "Entra ID group" }),
      ...(targetUser ? { user: targetUser } : {}),
      ...shared,
    };
  }

  const account = match(ACCOUNT, activity);
  if (account || (category === "usermanagement" && (targetUser || invited))) {
    const [activity_id, activity_name] = account ? [account[1], account[2]] : [99, activityText || "Other"];
    const user = targetUser ?? compact({ name: invited, email_addr: invited });
    return {
      class_uid: 3001,
      activity_id,
      activity_name,
      severity_id: activity_id === 11 || activity_id === 4 ? 2 : 1,
      message: `${activityText}${user.name ? ` for ${user.name}` : ""}${tail}`,
      user: compact({ ...user, ...(invited && !user.email_addr ? { email_addr: invited } : {}) }),
      ...shared,
    };
  }

  const entityTarget = targets.find((t) => !isType(t, "user")) ?? targets[0];
  if (ENTITY_CATEGORIES.has(category) || (entityTarget && !isType(entityTarget, "user"))) {
    const [activity_id, activity_name] = entityVerb(operationType, activity);
    const entity = compact({
      uid: entityTarget?.id,
      name: entityTarget?.name,
      type: entityTarget?.type ?? (category || undefined),
    });
    return {
      class_uid: 3004,
      activity_id,
      activity_name,
      // Federation, authentication-method and conditional access changes are how tenants are backdoored.
      severity_id: /federation|domain authentication|conditional access|authentication methods|credential/.test(
        activity,
      )
        ? 3
        : 1,
      message: `${activityText}${entity.name ? ` ${entity.name}` : ""}${tail}`,
      entity,
      ...(targets.length > 1
        ? { resources: targets.slice(1).map((t) => compact({ uid: t.id, name: t.name ?? t.upn, type: t.type })) }
        : {}),
      ...shared,
    };
  }

  return {
    class_uid: 6003,
    activity_id: 99,
    activity_name: "Other",
    severity_id: 1,
    message: `${activityText || "Entra ID audit event"}${tail}`,
    actor,
    api: compact({
      operation: activityText || "unknown",
      service: compact({ name: ciStr(p, "loggedByService") }),
      request: compact({ uid: ciStr(p, "id") }),
    }),
    ...(targetUser ? { user: targetUser } : {}),
    ...shared,
  };
}
