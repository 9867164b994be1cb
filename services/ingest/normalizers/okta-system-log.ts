/**
 * Okta System Log events (keys in either camelCase or, as some exporters write them, all lower case).
 * Sign-ins and authentications → OCSF Authentication; security.* / risk / token-reuse detections → Detection
 * Finding; every other event type → the class okta-events.ts gives it (Account Change, User Access Management,
 * Group Management, Entity Management, API Activity, Base Event). An absent or redacted `published` falls back to
 * the received time.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import type { Obj } from "./util.ts";
import { ciGet, ciObj, ciStr, compact, ip, jsonish, severityFromWord, time } from "./util.ts";
import { eventTime } from "./finalize.ts";
import { activityDraft, known, oktaKind, targets, userOf } from "./okta-events.ts";

export { oktaKind } from "./okta-events.ts";

const OKTA_SEVERITY: Record<string, number> = { debug: 1, info: 1, warn: 3, error: 4 };

/** Okta's risk level: `debugData.risk` ("{level=LOW, reasons=...}") or `logOnlySecurityData.risk.level`. */
function riskLevel(debug: Obj | undefined): string | undefined {
  const risk = jsonish(ciGet(debug, "risk")) ?? ciGet(jsonish(ciGet(debug, "logOnlySecurityData")), "risk");
  if (typeof risk === "string") return /level=(\w+)/i.exec(risk)?.[1]?.toUpperCase();
  return ciStr(risk, "level")?.toUpperCase();
}

/** ThreatInsight detections: {"Password Spray": "HIGH", ...}. */
function threatDetections(debug: Obj | undefined): Record<string, string> {
  const d = jsonish(ciGet(debug, "threatDetections"));
  const out: Record<string, string> = {};
  if (d && typeof d === "object" && !Array.isArray(d)) for (const [k, v] of Object.entries(d)) out[k] = String(v);
  return out;
}

function statusOf(result: string | undefined): readonly [number, string] {
  const r = result?.toUpperCase();
  switch (r) {
    case "SUCCESS":
    case "ALLOW":
      return [1, "Success"];
    case "FAILURE":
    case "DENY":
      return [2, "Failure"];
    case undefined:
      return [0, "Unknown"];
    default:
      return [99, r.charAt(0) + r.slice(1).toLowerCase()];
  }
}

/** Okta System Log (`/api/v1/logs`, event hooks, log streaming). */
export const oktaSystemLog: Normalizer = {
  format: "okta_system_log",
  aliases: ["okta"],
  detect: (e: RawEvent) => {
    if (e.kind !== "json") return false;
    const v = e.value;
    const type = ciStr(v, "eventType");
    return (
      type !== undefined &&
      /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/i.test(type) &&
      (ciObj(v, "actor") !== undefined || ciObj(v, "outcome") !== undefined) &&
      (ciStr(v, "published") !== undefined ||
        ciStr(v, "uuid") !== undefined ||
        ciObj(v, "client") !== undefined ||
        ciStr(v, "legacyEventType") !== undefined)
    );
  },
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("Okta System Log events are JSON");
    const v = raw.value;
    const eventType = ciStr(v, "eventType");
    if (!eventType) throw new Error("Okta event without eventType");
    const kind = oktaKind(eventType);
    // Panther's p_event_time stands in for a missing or redacted published; neither readable: the received time.
    const published =
      [ciStr(v, "published"), ciStr(v, "p_event_time")].find((s) => time(s) !== undefined) ?? ciStr(v, "published");
    const t = eventTime(published);
    const debug = ciObj(v, "debugContext.debugData");
    const client = ciObj(v, "client");
    const actorIp = ciStr(v, "actor.type")?.toLowerCase() === "ip address" ? ip(ciGet(v, "actor.id")) : undefined;
    const src = compact({
      ip: ip(ciGet(client, "ipAddress")) ?? ip(ciGet(v, "request.ipChain.0.ip")) ?? actorIp,
      type: known(ciStr(client, "device")),
      os: compact({ name: known(ciStr(client, "userAgent.os")) }),
      location: compact({
        city: ciStr(client, "geographicalContext.city"),
        country: ciStr(client, "geographicalContext.country"),
      }),
    });
    const risk = riskLevel(debug);
    const oktaSeverity = OKTA_SEVERITY[(ciStr(v, "severity") ?? "").toLowerCase()] ?? 1;
    const [statusId, status] = statusOf(ciStr(v, "outcome.result"));
    const reason = ciStr(v, "outcome.reason");
    const display = ciStr(v, "displayMessage");
    const user = userOf(ciObj(v, "actor")) ?? userOf(targets(v, "user")[0]);
    const metadata = compact({
      product: { vendor_name: "Okta", name: "Okta System Log" },
      uid: ciStr(v, "uuid"),
      original_time: published,
      log_name: "system_log",
      event_code: eventType,
      correlation_uid: ciStr(v, "transaction.id"),
    });
    const unmapped = compact({
      outcome_result: ciStr(v, "outcome.result"),
      outcome_reason: reason,
      legacy_event_type: ciStr(v, "legacyEventType"),
      user_agent: ciStr(client, "userAgent.rawUserAgent"),
      is_proxy: ciGet(v, "securityContext.isProxy"),
      as_org: ciStr(v, "securityContext.asOrg"),
      behaviors: jsonish(ciGet(debug, "behaviors")) ?? ciGet(jsonish(ciGet(debug, "logOnlySecurityData")), "behaviors"),
      threat_suspected: ciStr(debug, "threatSuspected"),
      external_session_id: ciStr(v, "authenticationContext.externalSessionId"),
    });
    const message = [display ?? eventType, reason ? `(${reason})` : undefined].filter(Boolean).join(" ");
    const common = {
      eventType,
      time: t,
      severity_id: Math.max(oktaSeverity, severityFromWord(risk)),
      status_id: statusId,
      status,
      message,
      src_endpoint: src,
      metadata,
      unmapped,
      debug,
    };
    if (typeof kind === "object") return activityDraft(v, kind, common);
    if (kind === "finding") {
      const threats = threatDetections(debug);
      const threatSeverity = Math.max(0, ...Object.values(threats).map(severityFromWord));
      const uid = ciStr(v, "uuid") ?? [eventType, published, src.ip ?? ""].join(":");
      const title = display ?? eventType;
      const draft: Draft = {
        class_uid: 2004,
        activity_id: 1,
        activity_name: "Create",
        time: t,
        severity_id: Math.max(threatSeverity, oktaSeverity, severityFromWord(risk)),
        status_id: 1,
        status: "New",
        message: reason ? `${title}: ${reason}` : title,
        is_alert: true,
        finding_info: compact({
          uid,
          title,
          desc: reason,
          types: Object.keys(threats).length > 0 ? Object.keys(threats) : [eventType],
          analytic: compact({
            uid: eventType,
            name: title,
            category: eventType.startsWith("security.threat") ? "Okta ThreatInsight" : undefined,
          }),
          created_time: t,
        }),
        ...(user ? { user } : {}),
        src_endpoint: src,
        metadata,
        unmapped: compact({ ...unmapped, threat_detections: Object.keys(threats).length > 0 ? threats : undefined }),
      };
      return draft;
    }
    // A sign-in that names no user (only a system or app actor) is still kept, as the Base Event it then is.
    if (!user) return activityDraft(v, { class_uid: 0, activity_id: 99, activity_name: "Other" }, common);
    const app = targets(v, "appinstance")[0];
    const lower = eventType.toLowerCase();
    const draft: Draft = {
      class_uid: 3002,
      activity_id: lower === "user.session.end" ? 2 : lower === "policy.evaluate_sign_on" ? 99 : 1,
      activity_name:
        lower === "user.session.end"
          ? "Logoff"
          : lower === "policy.evaluate_sign_on"
            ? "Sign-on policy evaluation"
            : "Logon",
      time: t,
      severity_id: Math.max(oktaSeverity, severityFromWord(risk)),
      status_id: statusId,
      status,
      message: [display ?? eventType, user.name ? `for ${user.name}` : undefined, reason ? `(${reason})` : undefined]
        .filter(Boolean)
        .join(" "),
      user,
      src_endpoint: src,
      service: {
        name: (app && ciStr(app, "displayName")) ?? "Okta",
        ...(app && ciStr(app, "id") ? { uid: ciStr(app, "id") as string } : {}),
      },
      ...(lower === "user.authentication.auth_via_mfa" ? { is_mfa: true } : {}),
      ...(ciStr(app, "detailEntry.signOnModeType")
        ? { auth_protocol: ciStr(app, "detailEntry.signOnModeType") as string }
        : {}),
      ...(risk ? { risk_level: risk.charAt(0) + risk.slice(1).toLowerCase() } : {}),
      metadata,
      unmapped,
    };
    return draft;
  },
};
