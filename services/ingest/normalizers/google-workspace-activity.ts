/**
 * Google Workspace Admin SDK Reports API activity events (activities.list: `kind` admin#reports#activity, `id`
 * {time, uniqueQualifier, applicationName, customerId}, `actor` {email, profileId, callerType}, `ipAddress`,
 * `events` [{type, name, parameters [{name, value | intValue | boolValue | multiValue ...}]}]; Google's reference:
 * developers.google.com/admin-sdk/reports/reference/rest/v1/activities and the per-application event pages
 * .../v1/appendix/activity/{login,admin,user-accounts,token,saml,...}). Also the one-event-per-record shape SIEM
 * pipelines flatten it to (`name`, `type`, `parameters` as an object at the top level).
 *
 * By application and event: sign-ins (login, saml) → Authentication (3002); account lifecycle, password, 2-Step
 * Verification and account-disabled warnings → Account Change (3001); admin role grants → User Access Management
 * (3005); group membership → Group Management (3006); admin changes to roles, settings, applications and domains →
 * Entity Management (3004); OAuth grants (token) and everything else → API Activity (6003); a record without an event
 * name → Base Event (0).
 */
import type { Draft } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { arr, compact, dict, get, ip, str, type Obj } from "./util.ts";

type Params = Readonly<Record<string, unknown>>;

/** A Reports API parameter's value, whichever typed field carries it. */
function paramValue(p: unknown): unknown {
  for (const k of ["value", "intValue", "boolValue", "multiValue", "multiIntValue"]) {
    const x = get(p, k);
    if (x !== undefined) return x;
  }
  return undefined;
}

/** Parameters by name: the API's [{name, value...}] list, or the object flattened pipelines produce. */
function paramsOf(raw: unknown): Params {
  const out = dict<unknown>();
  if (Array.isArray(raw)) {
    for (const p of raw) {
      const name = str(p, "name");
      if (name) out[name] = paramValue(p);
    }
  } else if (raw !== null && typeof raw === "object") {
    for (const [k, x] of Object.entries(raw as Record<string, unknown>)) out[k] = x;
  }
  return out;
}

const pstr = (p: Params, k: string): string | undefined => str({ x: p[k] }, "x");
const plist = (p: Params, k: string): string[] =>
  (Array.isArray(p[k]) ? (p[k] as unknown[]) : [p[k]]).filter((x): x is string => typeof x === "string" && x !== "");
/** A table's own entry for a vendor-supplied key (never an Object.prototype member such as `constructor`). */
const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;
const email = (v: string | undefined) => (v && /^[^@\s]+@[^@\s]+$/.test(v.trim()) ? v.trim() : undefined);

/** Account Change (3001) activities by event name (user_accounts, login and admin USER_SETTINGS events). */
const ACCOUNT: Record<string, readonly [number, string, number]> = {
  create_user: [1, "Create", 1],
  delete_user: [6, "Delete", 2],
  suspend_user: [5, "Disable", 2],
  unsuspend_user: [2, "Enable", 1],
  undelete_user: [2, "Enable", 1],
  change_password: [4, "Password Reset", 2],
  password_edit: [3, "Password Change", 1],
  password_change: [3, "Password Change", 1],
  "2sv_enroll": [10, "MFA Factor Enable", 1],
  "2sv_disable": [11, "MFA Factor Disable", 3],
  titanium_enroll: [10, "MFA Factor Enable", 1],
  titanium_unenroll: [11, "MFA Factor Disable", 3],
  turn_off_2_step_verification: [11, "MFA Factor Disable", 3],
  unenroll_user_from_strong_auth: [11, "MFA Factor Disable", 3],
  unenroll_user_from_titanium: [11, "MFA Factor Disable", 3],
  enforce_strong_authentication: [10, "MFA Factor Enable", 1],
  account_disabled_generic: [5, "Disable", 3],
  account_disabled_spamming: [5, "Disable", 3],
  account_disabled_spamming_through_relay: [5, "Disable", 3],
  account_disabled_password_leak: [5, "Disable", 4],
  account_disabled_hijacked: [5, "Disable", 4],
  recovery_email_edit: [99, "Recovery Email Change", 2],
  recovery_phone_edit: [99, "Recovery Phone Change", 2],
  recovery_secret_qa_edit: [99, "Recovery Question Change", 2],
  change_recovery_email: [99, "Recovery Email Change", 2],
  change_recovery_phone: [99, "Recovery Phone Change", 2],
  reset_signin_cookies: [99, "Sign-in Cookies Reset", 2],
};

/** Privileges granted or revoked (admin DELEGATED_ADMIN_SETTINGS / USER_SETTINGS) → User Access Management (3005). */
const PRIVILEGE: Record<string, readonly [number, string]> = {
  assign_role: [1, "Assign Privileges"],
  grant_admin_privilege: [1, "Assign Privileges"],
  grant_delegated_admin_privileges: [1, "Assign Privileges"],
  unassign_role: [2, "Revoke Privileges"],
  revoke_admin_privilege: [2, "Revoke Privileges"],
  revoke_delegated_admin_privileges: [2, "Revoke Privileges"],
};

/** Group membership (admin GROUP_SETTINGS, groups_enterprise) → Group Management (3006). */
const GROUP: Record<string, readonly [number, string]> = {
  add_group_member: [3, "Add User"],
  add_member: [3, "Add User"],
  remove_group_member: [4, "Remove User"],
  remove_member: [4, "Remove User"],
  create_group: [6, "Create"],
  delete_group: [5, "Delete"],
};

/** Sign-ins that are warnings about the account (login account_warning events) and their severity. */
const SIGN_IN_WARNING: Record<string, number> = {
  suspicious_login: 3,
  suspicious_login_less_secure_app: 3,
  suspicious_programmatic_login: 3,
  gov_attack_warning: 4,
};

/** Entity Management (3004) activity from an admin event's verb. */
function entityVerb(name: string): readonly [number, string] | undefined {
  if (/^(create|add|enable)_/.test(name)) return [1, "Create"];
  if (/^(change|update|rename|edit|set|move|toggle|modify)_/.test(name)) return [3, "Update"];
  if (/^(delete|remove|disable)_/.test(name)) return [4, "Delete"];
  return undefined;
}

/** API Activity (6003) activity from the event's verb (Drive's view, edit, trash ...; admin's CREATE_, DELETE_ ...). */
function apiVerb(name: string): { activity_id: number; activity_name: string } {
  if (/^(create|add|upload|authorize)(_|$)/.test(name)) return { activity_id: 1, activity_name: "Create" };
  if (/^(view|download|preview|print|sync_item_content)(_|$)/.test(name))
    return { activity_id: 2, activity_name: "Read" };
  if (/^(edit|rename|change|update|move|set|email_forwarding)(_|$)/.test(name))
    return { activity_id: 3, activity_name: "Update" };
  if (/^(delete|trash|remove|revoke)(_|$)/.test(name)) return { activity_id: 4, activity_name: "Delete" };
  return { activity_id: 99, activity_name: "Other" };
}

/** The entity an admin event changed: a role, a setting, an application, a domain, a mobile app, an org unit. */
function adminEntity(p: Params): { uid?: string | undefined; name?: string; type: string } | undefined {
  const pick: ReadonlyArray<readonly [string, string, string?]> = [
    ["ROLE_NAME", "Role", "ROLE_ID"],
    ["SETTING_NAME", "Setting"],
    ["APPLICATION_NAME", "Application", "APP_ID"],
    ["DOMAIN_NAME", "Domain"],
    ["MOBILE_APP_PACKAGE_ID", "Mobile Application"],
    ["GROUP_EMAIL", "Group"],
    ["ORG_UNIT_NAME", "Organizational Unit"],
  ];
  for (const [key, type, uidKey] of pick) {
    const name = pstr(p, key);
    if (name) return compact({ name, type, uid: uidKey ? pstr(p, uidKey) : undefined });
  }
  return undefined;
}

/** Parameters worth carrying in `unmapped` (scalars and short lists; the rest stays in raw_data). */
function keptParams(p: Params): Record<string, unknown> {
  const out = dict<unknown>();
  for (const [k, x] of Object.entries(p)) {
    if (Object.keys(out).length >= 25) break;
    if (typeof x === "string" || typeof x === "number" || typeof x === "boolean") out[k] = x;
    else if (Array.isArray(x) && x.length <= 20 && x.every((y) => typeof y === "string" || typeof y === "number"))
      out[k] = x;
  }
  return out;
}

/** A Reports API activity event as OCSF (see the module comment). */
export function googleActivity(v: Obj): Draft {
  const app = str(v, "id.applicationName") ?? "unknown";
  const events = arr(v, "events");
  const first = events[0];
  const name = str(first, "name") ?? str(v, "name");
  const type = str(first, "type") ?? str(v, "type");
  const p = paramsOf(first !== undefined ? get(first, "parameters") : v["parameters"]);
  const timeText = str(v, "id.time");
  const t = eventTime(timeText);
  const actorEmail = email(str(v, "actor.email"));
  const actor = compact({
    user: compact({
      name: actorEmail,
      email_addr: actorEmail,
      uid: str(v, "actor.profileId"),
      type: str(v, "actor.callerType"),
    }),
    app_name: str(v, "actor.applicationInfo.applicationName"),
  });
  const src = compact({ ip: ip(v["ipAddress"]) });
  const uq = str(v, "id.uniqueQualifier");
  const metadata = compact({
    product: { vendor_name: "Google", name: "Google Workspace" },
    uid: uq ? [timeText ?? "", uq, name ?? ""].join("/") : undefined,
    original_time: timeText,
    log_name: `reports/${app}`,
    event_code: name,
  });
  const unmapped = compact({
    application: app,
    event_type: type,
    customer_id: str(v, "id.customerId"),
    owner_domain: str(v, "ownerDomain"),
    parameters: keptParams(p),
    events: events.length > 1 ? events.map((e) => str(e, "name") ?? "").filter(Boolean) : undefined,
  });
  const shared = { time: t, src_endpoint: src, metadata, unmapped };
  const withActor = Object.keys(actor).length ? { actor } : {};

  if (!name) {
    return {
      class_uid: 0,
      activity_id: 99,
      activity_name: "Other",
      severity_id: 1,
      message: `Google Workspace ${app} ${type ?? "activity"} event`,
      ...withActor,
      ...shared,
    };
  }
  const key = name.trim().toLowerCase();
  const affected = email(pstr(p, "affected_email_address"));
  const target = email(pstr(p, "USER_EMAIL")) ?? affected;

  // Sign-ins: the login application (and `logout`, whose events Google files under login too) and SAML.
  if ((app === "login" || app === "logout" || app === "saml") && /^(login_|logout$|suspicious_|gov_attack)/.test(key)) {
    const user = actorEmail ?? affected;
    const challenge = pstr(p, "login_challenge_status")?.toLowerCase();
    const [statusId, status] =
      key === "login_failure" || challenge?.includes("fail")
        ? [2, "Failure"]
        : key === "login_success" || key === "logout" || challenge?.includes("pass")
          ? [1, "Success"]
          : [0, "Unknown"];
    const warning = own(SIGN_IN_WARNING, key);
    const methods = plist(p, "login_challenge_method");
    const isMfa = methods.length ? methods.some((m) => !["none", "password"].includes(m.toLowerCase())) : undefined;
    const logoff = key === "logout";
    const service = pstr(p, "application_name");
    return {
      class_uid: 3002,
      activity_id: logoff ? 2 : 1,
      activity_name: logoff ? "Logoff" : "Logon",
      severity_id: warning ?? 1,
      status_id: statusId,
      status,
      message: `Google Workspace ${app} ${name.trim()}${user ? ` for ${user}` : ""}${service ? ` to ${service}` : ""}`,
      user: compact({ name: user, email_addr: user, uid: str(v, "actor.profileId") }),
      ...(isMfa !== undefined ? { is_mfa: isMfa } : {}),
      ...(pstr(p, "login_type") ? { logon_type: pstr(p, "login_type") as string } : {}),
      ...(service ? { service: { name: service } } : {}),
      ...(warning ? { risk_level: warning >= 4 ? "High" : "Medium" } : {}),
      ...shared,
    };
  }

  const account = own(ACCOUNT, key);
  if (account) {
    const [activity_id, activity_name, severity_id] = account;
    const user = target ?? actorEmail;
    return {
      class_uid: 3001,
      activity_id,
      activity_name,
      severity_id,
      message: `Google Workspace ${app} ${name}${user ? ` for ${user}` : ""}${actorEmail && actorEmail !== user ? ` by ${actorEmail}` : ""}`,
      user: compact({ name: user, email_addr: user }),
      ...withActor,
      ...shared,
    };
  }

  const privilege = own(PRIVILEGE, key);
  if (privilege) {
    const [activity_id, activity_name] = privilege;
    const role = pstr(p, "ROLE_NAME");
    return {
      class_uid: 3005,
      activity_id,
      activity_name,
      severity_id: 3,
      message: `Google Workspace ${name}${role ? ` ${role}` : ""}${target ? ` to ${target}` : ""}${actorEmail ? ` by ${actorEmail}` : ""}`,
      user: compact({ name: target, email_addr: target }),
      ...(role ? { privileges: [role] } : {}),
      ...withActor,
      ...shared,
    };
  }

  const group = own(GROUP, key);
  if (group) {
    const [activity_id, activity_name] = group;
    const groupEmail = pstr(p, "GROUP_EMAIL") ?? pstr(p, "group_email");
    const member = email(pstr(p, "USER_EMAIL")) ?? email(pstr(p, "member_email"));
    return {
      class_uid: 3006,
      activity_id,
      activity_name,
      severity_id: 1,
      message: `Google Workspace ${name}${member ? ` ${member}` : ""}${groupEmail ? ` in ${groupEmail}` : ""}`,
      group: compact({ name: groupEmail, type: "Google Group" }),
      ...(member ? { user: { name: member, email_addr: member } } : {}),
      ...withActor,
      ...shared,
    };
  }

  const verb = entityVerb(key);
  const entity = adminEntity(p) ?? (type === "DELEGATED_ADMIN_SETTINGS" ? { type: "Role" } : undefined);
  if (app === "admin" && verb && entity) {
    const [activity_id, activity_name] = verb;
    const newValue = pstr(p, "NEW_VALUE");
    return {
      class_uid: 3004,
      activity_id,
      activity_name,
      severity_id: 1,
      message:
        `Google Workspace admin ${name} ${entity.type ?? ""} ${entity.name ?? ""}${newValue !== undefined ? ` = ${newValue}` : ""}`.replace(
          /\s+/g,
          " ",
        ),
      entity,
      ...(newValue !== undefined ? { entity_result: { ...entity, value: newValue } } : {}),
      ...withActor,
      ...shared,
    };
  }

  const resource = compact({
    uid: pstr(p, "doc_id") ?? pstr(p, "client_id") ?? pstr(p, "calendar_id") ?? pstr(p, "DEVICE_ID"),
    name: pstr(p, "doc_title") ?? pstr(p, "app_name") ?? pstr(p, "APPLICATION_NAME"),
    type: pstr(p, "doc_type") ?? (pstr(p, "client_id") ? "OAuth Client" : undefined),
  });
  const compromised = key === "device_compromised_event" && pstr(p, "DEVICE_COMPROMISED_STATE") === "COMPROMISED";
  const severity = compromised ? 4 : key === "suspicious_activity_event" ? 3 : 1;
  return {
    class_uid: 6003,
    ...apiVerb(key),
    severity_id: severity,
    message: `Google Workspace ${app} ${name}${actorEmail ? ` by ${actorEmail}` : ""}${resource.name ? `: ${resource.name}` : ""}`,
    actor,
    api: {
      operation: name,
      service: { name: app },
      ...(uq ? { request: { uid: uq } } : {}),
    },
    ...(Object.keys(resource).length ? { resources: [resource] } : {}),
    ...(email(pstr(p, "USER_EMAIL")) && !actorEmail
      ? { user: { name: pstr(p, "USER_EMAIL"), email_addr: pstr(p, "USER_EMAIL") } }
      : {}),
    ...shared,
  };
}
