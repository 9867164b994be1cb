/**
 * Test events of the real formats, normalized by the real normalizers: Okta System Log sign-ins, Entra ID sign-ins,
 * Suricata and CEF alerts. Shapes built field by field (Riposte's own values) from: the Okta System Log API
 * reference (developer.okta.com/docs/reference/api/system-log/, LogEvent object: uuid, published, eventType,
 * severity, actor, client.geographicalContext, outcome); the Microsoft Graph v1.0 signIn resource (learn.microsoft.com
 * graph/api/resources/signin: id, createdDateTime, userPrincipalName, appId, ipAddress, status.errorCode, location);
 * Suricata's EVE JSON alert format (docs.suricata.io, Eve JSON Output); and the ArcSight CEF implementation standard
 * (CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension with src, dst, rt).
 */
import assert from "node:assert/strict";
import type { NormalizedEvent } from "../../schemas/index.ts";
import { normalizeEvent } from "../ingest/normalizers/index.ts";

const T0 = Date.parse("2026-11-20T09:00:00.000Z");

/** `minutes` after 2026-11-20T09:00Z, as ms since the epoch. */
export const at = (minutes: number): number => T0 + Math.round(minutes * 60_000);

function normalized(value: Record<string, unknown>, source: string, receivedTime = T0): NormalizedEvent {
  const out = normalizeEvent({ kind: "json", value }, JSON.stringify(value), { source, receivedTime });
  assert.ok(out.ok, JSON.stringify(out));
  return out.event;
}

let seq = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, "0")}`;

export interface SignIn {
  readonly user: string;
  readonly ok: boolean;
  readonly minute: number;
  readonly ip?: string;
  readonly country?: string;
}

/** An Okta System Log `user.session.start` event. */
export function okta(s: SignIn): NormalizedEvent {
  return normalized(
    {
      uuid: uuid(),
      published: new Date(at(s.minute)).toISOString(),
      eventType: "user.session.start",
      version: "0",
      severity: s.ok ? "INFO" : "WARN",
      displayMessage: "User login to Okta",
      legacyEventType: s.ok ? "core.user_auth.login_success" : "core.user_auth.login_failed",
      actor: { id: "00u1a2b3c4d5e6f7g8h9", type: "User", alternateId: s.user, displayName: "Alice Example" },
      client: {
        ipAddress: s.ip ?? "203.0.113.20",
        device: "Computer",
        userAgent: { rawUserAgent: "Mozilla/5.0", os: "Mac OS X", browser: "CHROME" },
        geographicalContext: { city: "Lyon", state: "Rhone", country: s.country ?? "France", postalCode: "69001" },
      },
      outcome: s.ok ? { result: "SUCCESS" } : { result: "FAILURE", reason: "INVALID_CREDENTIALS" },
      transaction: { type: "WEB", id: `tx-${seq}` },
    },
    "okta",
  );
}

/** An Entra ID sign-in as Microsoft Graph returns it (`GET /auditLogs/signIns`). */
export function entra(s: SignIn): NormalizedEvent {
  return normalized(
    {
      id: uuid(),
      createdDateTime: new Date(at(s.minute)).toISOString(),
      userDisplayName: "Alice Example",
      userPrincipalName: s.user,
      userId: "5d7f9a1b-0000-4000-8000-0000000000a1",
      appId: "00000002-0000-0ff1-ce00-000000000000",
      appDisplayName: "Office 365 Exchange Online",
      ipAddress: s.ip ?? "203.0.113.20",
      clientAppUsed: "Browser",
      status: s.ok
        ? { errorCode: 0 }
        : { errorCode: 50126, failureReason: "Error validating credentials due to invalid username or password." },
      location: { city: "Lyon", state: "Auvergne-Rhone-Alpes", countryOrRegion: s.country ?? "FR" },
      riskLevelDuringSignIn: "none",
    },
    "entra",
  );
}

/** A Suricata EVE alert from `src` (priority 1). */
export function suricata(src: string, minute: number, sid = 2_000_001): NormalizedEvent {
  return normalized(
    {
      timestamp: new Date(at(minute)).toISOString().replace("Z", "+0000"),
      flow_id: 1_000 + ++seq,
      event_type: "alert",
      src_ip: src,
      src_port: 44_123,
      dest_ip: "10.20.4.17",
      dest_port: 443,
      proto: "TCP",
      alert: { signature_id: sid, rev: 1, signature: `ET SCAN sid ${sid}`, category: "Attempted Recon", severity: 1 },
    },
    "ids",
  );
}

/** A firewall's CEF deny event about `src`, over syslog. */
export function cef(src: string, minute: number): NormalizedEvent {
  const line = `CEF:0|Example Networks|EdgeFirewall|9.1|threat-100|Blocked inbound connection|8|rt=${at(minute)} src=${src} spt=51514 dst=10.20.4.17 dpt=22 proto=TCP act=deny externalId=fw-${++seq}`;
  const out = normalizeEvent({ kind: "text", value: line }, line, { source: "firewall", receivedTime: T0 });
  assert.ok(out.ok, JSON.stringify(out));
  return out.event;
}
