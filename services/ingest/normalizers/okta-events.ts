/**
 * Okta System Log event types → OCSF classes, and the drafts of the understood activity that is neither a sign-in nor
 * a detection: account lifecycle and MFA factor changes (Account Change 3001), admin privileges and app assignments
 * (User Access Management 3005), group membership and privileges (Group Management 3006), app, IdP, policy and zone
 * lifecycle (Entity Management 3004), OAuth 2.0 / API token grants and revocations, revealed app passwords and rate
 * limits (API Activity 6003), and every other documented event type (Base Event 0, the event type as event_code).
 * Event types as Okta's Event Types catalogue names them (developer.okta.com/docs/reference/api/event-types/); fields
 * as the System Log API's LogEvent object documents them (developer.okta.com/docs/reference/api/system-log/).
 */
import type { Draft } from "./types.ts";
import type { Obj } from "./util.ts";
import { ciArr, ciObj, ciStr, compact } from "./util.ts";

/** A class and activity of an understood Okta event type. */
export interface OktaActivity {
  readonly class_uid: 0 | 3001 | 3004 | 3005 | 3006 | 6003;
  readonly activity_id: number;
  readonly activity_name: string;
}

export type OktaKind = "auth" | "finding" | OktaActivity;

const AUTH_EVENTS = new Set([
  "user.session.start",
  "user.session.end",
  "user.session.access_admin_app",
  "policy.evaluate_sign_on",
  "app.generic.unauth_app_access_attempt",
]);
const FINDING_EVENTS = new Set(["user.account.report_suspicious_activity_by_enduser"]);

const act = (class_uid: OktaActivity["class_uid"], activity_id: number, activity_name: string): OktaActivity => ({
  class_uid,
  activity_id,
  activity_name,
});

/** Event types with an exact OCSF activity (OCSF 1.5 account_change, user_access, group_management, api_activity). */
const EXACT: Record<string, OktaActivity> = {
  "user.lifecycle.create": act(3001, 1, "Create"),
  "user.lifecycle.activate": act(3001, 2, "Enable"),
  "user.lifecycle.reactivate": act(3001, 2, "Enable"),
  "user.lifecycle.unsuspend": act(3001, 2, "Enable"),
  "user.lifecycle.deactivate": act(3001, 5, "Disable"),
  "user.lifecycle.suspend": act(3001, 5, "Disable"),
  "user.lifecycle.delete.initiated": act(3001, 6, "Delete"),
  "user.lifecycle.delete.completed": act(3001, 6, "Delete"),
  "user.account.update_password": act(3001, 3, "Password Change"),
  "user.account.reset_password": act(3001, 4, "Password Reset"),
  "user.account.lock": act(3001, 9, "Lock"),
  "user.account.lock.limit": act(3001, 9, "Lock"),
  "user.account.unlock": act(3001, 12, "Unlock"),
  "user.account.unlock_by_admin": act(3001, 12, "Unlock"),
  "user.mfa.factor.activate": act(3001, 10, "MFA Factor Enable"),
  "user.mfa.factor.unsuspend": act(3001, 10, "MFA Factor Enable"),
  "user.mfa.factor.deactivate": act(3001, 11, "MFA Factor Disable"),
  "user.mfa.factor.suspend": act(3001, 11, "MFA Factor Disable"),
  "user.mfa.factor.reset_all": act(3001, 11, "MFA Factor Disable"),
  "system.mfa.factor.activate": act(3001, 10, "MFA Factor Enable"),
  "system.mfa.factor.deactivate": act(3001, 11, "MFA Factor Disable"),
  "user.account.privilege.grant": act(3005, 1, "Assign Privileges"),
  "user.account.privilege.revoke": act(3005, 2, "Revoke Privileges"),
  "application.user_membership.add": act(3005, 1, "Assign Privileges"),
  "application.user_membership.remove": act(3005, 2, "Revoke Privileges"),
  "group.privilege.grant": act(3006, 1, "Assign Privileges"),
  "group.privilege.revoke": act(3006, 2, "Revoke Privileges"),
  "group.user_membership.add": act(3006, 3, "Add User"),
  "group.user_membership.remove": act(3006, 4, "Remove User"),
  "group.lifecycle.delete": act(3006, 5, "Delete"),
  "group.lifecycle.create": act(3006, 6, "Create"),
  "group.profile.update": act(3006, 9, "Update"),
  "group.application_assignment.add": act(3006, 1, "Assign Privileges"),
  "group.application_assignment.remove": act(3006, 2, "Revoke Privileges"),
  // Revealing an app's stored password is a read of a credential, not a change of anyone's privileges.
  "application.user_membership.show_password": act(6003, 2, "Read"),
  "system.api_token.create": act(6003, 1, "Create"),
  "system.api_token.revoke": act(6003, 4, "Delete"),
};

/** The verb of `<entity>.lifecycle.<verb>` (and `policy.rule.<verb>`, `zone.<verb>`) → Entity Management activity. */
const ENTITY_VERBS: Record<string, readonly [number, string]> = {
  create: [1, "Create"],
  add: [1, "Create"],
  read: [2, "Read"],
  update: [3, "Update"],
  delete: [4, "Delete"],
  remove: [4, "Delete"],
  activate: [10, "Activate"],
  deactivate: [11, "Deactivate"],
  suspend: [12, "Suspend"],
  unsuspend: [13, "Resume"],
};

/** An OAuth 2.0 / token event's verb → API Activity: grants and authorizations create, revocations delete. */
function apiVerb(t: string): OktaActivity {
  if (/(^|\.)(revoke|delete|remove)(\.|$)/.test(t)) return act(6003, 4, "Delete");
  if (/(^|\.)(grant|authorize|create|consent|issue)(\.|$)/.test(t)) return act(6003, 1, "Create");
  if (/(^|\.)(update)(\.|$)/.test(t)) return act(6003, 3, "Update");
  return act(6003, 99, "Other");
}

/** What Riposte makes of an Okta event type (case-insensitive); every well-formed event type is understood. */
export function oktaKind(eventType: string): OktaKind {
  const t = eventType.toLowerCase();
  if (FINDING_EVENTS.has(t) || t.startsWith("security.") || t.startsWith("user.risk.") || t.endsWith(".detect_reuse"))
    return "finding";
  if (AUTH_EVENTS.has(t) || t.startsWith("user.authentication.")) return "auth";
  const exact = EXACT[t];
  if (exact) return exact;
  if (/rate_limit|ratelimit/.test(t))
    return act(6003, 99, /warning/.test(t) ? "Rate Limit Warning" : "Rate Limit Violation");
  if (t.startsWith("app.oauth2.") || t.startsWith("app.token.") || t.startsWith("system.api_token.")) return apiVerb(t);
  if (/^user\.(lifecycle|account|mfa\.factor)\./.test(t)) return act(3001, 99, "Other");
  if (t.startsWith("application.user_membership.")) return act(3005, 99, "Other");
  if (t.startsWith("group.")) return act(3006, 99, "Other");
  const verb = /\.lifecycle\.([a-z_]+)/.exec(t)?.[1] ?? /^(?:policy\.rule|zone|network_zone)\.([a-z_]+)$/.exec(t)?.[1];
  if (verb !== undefined) {
    const [id, name] = ENTITY_VERBS[verb] ?? [99, "Other"];
    return act(3004, id, name);
  }
  return act(0, 99, "Other");
}

export const known = (s: string | undefined): string | undefined =>
  s && s.toLowerCase() !== "unknown" ? s : undefined;

/** An Okta actor or target of type User / AppUser as an OCSF user (alternateId is the login, usually an email). */
export function userOf(actor: Obj | undefined) {
  if (!actor) return undefined;
  const type = (ciStr(actor, "type") ?? "").toLowerCase();
  if (type !== "user" && type !== "appuser") return undefined;
  const alt = known(ciStr(actor, "alternateId"));
  const u = compact({
    name: alt ?? known(ciStr(actor, "displayName")),
    uid: known(ciStr(actor, "id")),
    full_name: known(ciStr(actor, "displayName")),
    email_addr: alt?.includes("@") ? alt : undefined,
    type: ciStr(actor, "type"),
  });
  return u.name || u.uid ? u : undefined;
}

const isObj = (t: unknown): t is Obj => t !== null && typeof t === "object" && !Array.isArray(t);

/** The event's targets of one type (case-insensitive), or all of them. */
export const targets = (v: Obj, type?: string): Obj[] =>
  ciArr(v, "target").filter(
    (t): t is Obj => isObj(t) && (type === undefined || ciStr(t, "type")?.toLowerCase() === type),
  );

/** A target as an OCSF resource (id, display name or alternate id, Okta's type). */
function resourceOf(t: Obj) {
  return compact({
    uid: known(ciStr(t, "id")),
    name: known(ciStr(t, "displayName")) ?? known(ciStr(t, "alternateId")),
    type: ciStr(t, "type"),
  });
}

/** What every Okta draft shares: time, severity, status, message, source endpoint, metadata, unmapped. */
export interface OktaCommon {
  readonly eventType: string;
  readonly time: number;
  readonly severity_id: number;
  readonly status_id: number;
  readonly status: string;
  readonly message: string;
  readonly src_endpoint: NonNullable<Draft["src_endpoint"]>;
  readonly metadata: Draft["metadata"];
  readonly unmapped: Record<string, unknown>;
  readonly debug: Obj | undefined;
}

const privilegesOf = (debug: Obj | undefined, activity: OktaActivity): string[] => {
  const p = ciStr(debug, activity.activity_id === 2 ? "privilegeRevoked" : "privilegeGranted");
  return p ? p.split(/,\s*/).filter((s) => s !== "") : [];
};

/** A draft of an understood Okta activity. Falls back to Base Event when the class's required object is absent. */
export function activityDraft(v: Obj, kind: OktaActivity, c: OktaCommon): Draft {
  const actorObj = ciObj(v, "actor");
  const actorUser = userOf(actorObj);
  const actor = actorUser
    ? { user: actorUser }
    : actorObj && known(ciStr(actorObj, "displayName"))
      ? { app_name: ciStr(actorObj, "displayName") as string }
      : undefined;
  const targetUser = userOf(targets(v, "user")[0]) ?? userOf(targets(v, "appuser")[0]);
  const others = targets(v).filter((t) => !["user", "appuser"].includes(ciStr(t, "type")?.toLowerCase() ?? ""));
  const resources = others.map(resourceOf).filter((r) => Object.keys(r).length > 0);
  const common = {
    time: c.time,
    severity_id: c.severity_id,
    status_id: c.status_id,
    status: c.status,
    message: c.message,
    ...(Object.keys(c.src_endpoint).length > 0 ? { src_endpoint: c.src_endpoint } : {}),
    ...(actor ? { actor } : {}),
    ...(resources.length > 0 ? { resources } : {}),
    metadata: c.metadata,
    unmapped: compact({ ...c.unmapped, request_uri: ciStr(c.debug, "requestUri") }),
    activity_id: kind.activity_id,
    activity_name: kind.activity_name,
  };
  const base = (): Draft => ({ ...common, class_uid: 0, activity_id: 99, activity_name: "Other" });
  switch (kind.class_uid) {
    case 3001: {
      // The affected account is the target; self-service changes (own MFA factor) may name only the actor. An org-wide
      // change (system.mfa.factor.*) naming no user is the admin changing the org's authenticator: Entity Management.
      const user = targetUser ?? (c.eventType.toLowerCase().startsWith("system.") ? undefined : actorUser);
      if (!user) {
        const factor = others[0];
        return {
          ...common,
          class_uid: 3004,
          activity_id: kind.activity_id === 10 ? 10 : kind.activity_id === 11 ? 11 : 3,
          activity_name: kind.activity_id === 10 ? "Activate" : kind.activity_id === 11 ? "Deactivate" : "Update",
          entity: factor ? resourceOf(factor) : { type: "MFA factor" },
        };
      }
      return { ...common, class_uid: 3001, user };
    }
    case 3005: {
      const user = targetUser ?? actorUser;
      if (!user) return base();
      const privileges = privilegesOf(c.debug, kind);
      return { ...common, class_uid: 3005, user, ...(privileges.length > 0 ? { privileges } : {}) };
    }
    case 3006: {
      const g = targets(v, "usergroup")[0];
      const privileges = privilegesOf(c.debug, kind);
      return {
        ...common,
        class_uid: 3006,
        group: g ? resourceOf(g) : {},
        ...(targetUser ? { user: targetUser } : {}),
        ...(privileges.length > 0 ? { privileges } : {}),
      };
    }
    case 3004: {
      const entity = others[0];
      return { ...common, class_uid: 3004, entity: entity ? resourceOf(entity) : { type: c.eventType.split(".")[0] } };
    }
    case 6003:
      return {
        ...common,
        class_uid: 6003,
        actor: actor ?? {},
        ...(targetUser ? { user: targetUser } : {}),
        api: compact({
          operation: c.eventType,
          service: { name: "Okta" },
          request: compact({ uid: ciStr(c.debug, "requestId") }),
        }),
      };
    default:
      return base();
  }
}
