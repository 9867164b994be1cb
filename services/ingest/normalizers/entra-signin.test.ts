import { test } from "node:test";
import assert from "node:assert/strict";
import { entraSignin } from "./entra-signin.ts";
import { corpusEvents, json, normalizeWith, outcomeOf, pantherRecord, pantherRecords } from "./testing.ts";

const FILE = "azure_entra_signin/panther-analysis__Azure.Audit.jsonl";
const records = pantherRecords(FILE);
const SIGN_IN_CATEGORIES = new Set(["SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs"]);

const auth = (name: string, rule?: string) => {
  const e = normalizeWith(entraSignin, json(pantherRecord(records, name, rule)));
  if (e.class_uid !== 3002) throw new Error("not an Authentication");
  return e;
};

test("entra: every record normalizes: sign-ins as Authentication, directory audit events as their own classes", () => {
  assert.equal(records.length, 48);
  let signIns = 0;
  for (const r of records) {
    assert.ok(entraSignin.detect(json(r.log)), r.name);
    const out = outcomeOf(entraSignin, json(r.log));
    if (SIGN_IN_CATEGORIES.has(String(r.log["category"]))) {
      signIns++;
      assert.ok(out.kind === "ok" && out.event.class_uid === 3002, `${r.name}: ${JSON.stringify(out)}`);
    } else {
      assert.ok(
        out.kind === "ok" && [3001, 3004, 3005, 3006, 6003].includes(out.event.class_uid),
        `${r.name}: ${JSON.stringify(out)}`,
      );
    }
  }
  assert.equal(signIns, 27);
});

test("entra: 'High Risk During Sign-In' is a successful, High-severity sign-in with its risk", () => {
  const e = auth("High Risk During Sign-In");
  assert.equal(e.user.name, "john@justice.org");
  assert.equal(e.user.uid, "user123-456-789");
  assert.equal(e.src_endpoint?.ip, "4.4.4.4");
  assert.equal(e.src_endpoint?.location?.city, "Moscow");
  assert.equal(e.status_id, 1);
  assert.equal(e.severity, "High");
  assert.equal(e.risk_level, "High");
  assert.equal(e.time, Date.parse("2025-01-15T14:23:10.123Z"));
  assert.equal(e.service?.name, "Microsoft 365");
  assert.equal(e.logon_type, "Interactive");
  assert.deepEqual(e.unmapped?.["risk_event_types"], ["unfamiliarFeatures", "anonymizedIPAddress"]);
  assert.equal(e.riposte.entity_key, "user:john@justice.org");
});

test("entra: 'Account Lockout Error 50053' is a failure with Entra's error code and reason", () => {
  const e = auth("Account Lockout Error 50053");
  assert.equal(e.user.name, "boromir@lotr.com");
  assert.equal(e.src_endpoint?.ip, "4.4.4.4");
  assert.equal(e.status_id, 2);
  assert.equal(e.severity, "Informational");
  assert.equal(e.metadata.event_code, "50053");
  assert.equal(e.is_mfa, false);
  assert.equal(e.time, Date.parse("2025-01-15T08:15:23.456Z"));
  assert.match(e.message ?? "", /account is locked/);
});

test("entra: service-principal sign-ins with lower-case envelope keys; severity follows the higher risk level", () => {
  const e = auth("Failed Sign-In", "Azure.Audit.ManyFailedSignIns");
  assert.equal(e.user.name, "some-service-principal");
  assert.equal(e.user.type, "Service Principal");
  assert.equal(e.src_endpoint?.ip, "12.12.12.12");
  assert.equal(e.status_id, 2);
  assert.equal(e.severity, "Low");
  assert.equal(e.metadata.event_code, "7000215");
  assert.equal(e.time, Date.parse("2023-07-26T22:58:30.983Z"));
  assert.equal(auth("Failed Sign-In with riskLevelAggregated").severity, "Low");
  assert.equal(auth("Failed Sign-In with riskLevelDuringSignIn").severity, "High");
  assert.equal(auth("Missing RiskState").severity, "Informational");
});

test("entra: legacy-auth, no-risk, device-code and non-interactive sign-ins, each named", () => {
  const legacy = auth("Sign-In with legacy auth");
  assert.equal(legacy.user.name, "eve@lexcorp.com");
  assert.equal(legacy.src_endpoint?.ip, "12.12.12.12", "properties.ipAddress wins over the envelope callerIpAddress");
  assert.equal(legacy.is_mfa, false);
  assert.equal(legacy.unmapped?.["client_app"], "Authenticated SMTP");
  assert.equal(legacy.time, Date.parse("2023-07-21T05:03:52.160Z"));

  const quiet = auth("No Risk Sign-In");
  assert.equal(quiet.severity, "Informational");
  assert.equal(quiet.risk_level, "Info");
  assert.equal(quiet.src_endpoint?.ip, "203.0.113.200");

  const device = auth("Device Code Auth with Broker Client");
  assert.equal(device.auth_protocol, "deviceCode");
  assert.equal(device.actor?.app_name, "Microsoft Authentication Broker");
  assert.equal(device.src_endpoint?.uid, "device-attacker-456");

  const vscode = auth("VS Code to Microsoft Graph");
  assert.equal(vscode.user.name, "sam@lotr.com");
  assert.equal(vscode.logon_type, "Non-Interactive");
  assert.equal(vscode.metadata.log_name, "NonInteractiveUserSignInLogs");
});

test("entra: detect does not claim other Microsoft formats; a sign-in without identity is a clear error", () => {
  for (const other of [
    ...corpusEvents("microsoft_defender/panther-analysis__MicrosoftDefenderXDR.AdvancedHunting.jsonl"),
    ...corpusEvents("azure_entra_signin/panther-analysis__Microsoft365.Audit.AzureActiveDirectory.jsonl"),
    ...corpusEvents("microsoft_sentinel/elastic-integrations__microsoft_sentinel_alert__test-alert.log"),
  ])
    assert.equal(entraSignin.detect(json(other)), false);
  assert.throws(
    () =>
      entraSignin.normalize(
        json({ category: "SignInLogs", time: "2025-01-01T00:00:00Z", properties: { ipAddress: "192.0.2.1" } }),
      ),
    /without userPrincipalName/,
  );
});
