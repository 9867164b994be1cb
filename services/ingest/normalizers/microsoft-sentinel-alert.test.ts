import { test } from "node:test";
import assert from "node:assert/strict";
import { microsoftSentinelAlert } from "./microsoft-sentinel-alert.ts";
import { corpusEvents, json, normalizeWith } from "./testing.ts";

const REST = "microsoft_sentinel/elastic-integrations__microsoft_sentinel_alert__test-alert.log";

const finding = (ev: Record<string, unknown>) => {
  const e = normalizeWith(microsoftSentinelAlert, json(ev));
  if (e.class_uid !== 2004) throw new Error("not a finding");
  return e;
};

/** A Log Analytics SecurityAlert row as Sentinel stores it (invented values; Entities etc. are JSON strings). */
const LA_ROW = {
  TenantId: "00000000-0000-4000-8000-000000000001",
  TimeGenerated: "2026-03-02T10:15:00.123Z",
  DisplayName: "Brute force against web-07",
  AlertName: "SSH brute force",
  AlertSeverity: "Medium",
  Description: "Many failed SSH logons followed by a success.",
  ProviderName: "ASI Scheduled Alerts",
  VendorName: "Microsoft",
  SystemAlertId: "6f0a7e0c-0000-4000-8000-000000000002",
  AlertType: "00000000-0000-4000-8000-00000000000a_b1",
  StartTime: "2026-03-02T09:10:00Z",
  EndTime: "2026-03-02T10:10:00Z",
  RemediationSteps: '["Block the source address","Reset the account password"]',
  ExtendedProperties: JSON.stringify({
    "Analytic Rule Ids": '["00000000-0000-4000-8000-00000000000a"]',
    "Analytic Rule Name": "SSH brute force",
  }),
  Entities: JSON.stringify([
    { $id: "3", HostName: "web-07", DnsDomain: "corp.example.com", OSFamily: "Linux", Type: "host" },
    { $id: "4", Name: "deploy", UPNSuffix: "example.com", Type: "account" },
    { $id: "5", Address: "203.0.113.9", Type: "ip" },
    {
      $id: "6",
      ProcessId: "0x1092",
      CommandLine: "sshd: deploy",
      ImageFile: {
        $id: "7",
        Directory: "/usr/sbin",
        Name: "sshd",
        FileHashes: [{ $id: "8", Algorithm: "SHA256", Value: "ab".repeat(32), Type: "filehash" }],
        Type: "file",
      },
      Account: { $ref: "4" },
      Type: "process",
    },
    { $ref: "7" },
  ]),
  ProductName: "Azure Sentinel",
  ProductComponentName: "Scheduled Alerts",
  Status: "New",
  CompromisedEntity: "web-07",
  Tactics: "CredentialAccess",
  Techniques: '["T1110"]',
  SubTechniques: '["T1110.001"]',
  Type: "SecurityAlert",
};

test("sentinel: the SecurityInsights REST SecurityAlert 'myAlert' normalizes with severity, time, title and tactic", () => {
  const all = corpusEvents(REST);
  assert.equal(all.length, 1);
  assert.ok(microsoftSentinelAlert.detect(json(all[0]!)));
  const e = finding(all[0]!);
  assert.equal(e.finding_info.title, "myAlert");
  assert.equal(e.finding_info.uid, "abcdef-6fde-4ab7-a093-d09f7b75c58c");
  assert.equal(e.severity, "Low");
  assert.equal(e.status, "New");
  assert.equal(e.time, Date.parse("2020-07-20T18:21:53.615Z"));
  assert.equal(e.finding_info.last_seen_time, Date.parse("2020-07-21T18:21:53.615Z"));
  assert.deepEqual(e.finding_info.attacks, [{ tactic: { name: "abc" } }]);
  assert.equal(e.metadata.product.name, "AzureSecurityCenter");
  assert.equal(e.device, undefined, "the REST entity carries no Entities");
  assert.deepEqual(e.resources, [{ uid: "abcdefg-985d-4e4e-8e91-fb3466cd0e5b", type: "Log Analytics workspace" }]);
  assert.equal(e.riposte.entity_key, "resource:abcdefg-985d-4e4e-8e91-fb3466cd0e5b", "from resourceIdentifiers");
});

test("sentinel: a Log Analytics row's Entities JSON becomes device, user, source IP and process/file evidence", () => {
  assert.ok(microsoftSentinelAlert.detect(json(LA_ROW)));
  const e = finding(LA_ROW);
  assert.equal(e.finding_info.title, "Brute force against web-07");
  assert.equal(e.finding_info.analytic?.uid, "00000000-0000-4000-8000-00000000000a");
  assert.equal(e.finding_info.analytic?.name, "SSH brute force");
  assert.equal(e.severity_id, 3);
  assert.equal(e.time, Date.parse("2026-03-02T10:15:00.123Z"));
  assert.equal(e.device?.hostname, "web-07");
  assert.equal(e.device?.domain, "corp.example.com");
  assert.equal(e.user?.name, "deploy@example.com");
  assert.equal(e.src_endpoint?.ip, "203.0.113.9");
  assert.equal(e.riposte.entity_key, "host:web-07");
  const proc = e.evidences?.find((ev) => ev.process)?.process;
  assert.equal(proc?.pid, 4242, "hex ProcessId");
  assert.equal(proc?.user?.name, "deploy@example.com", "$ref to the account is resolved");
  assert.equal(proc?.file?.path, "/usr/sbin/sshd");
  assert.deepEqual(proc?.file?.hashes, [{ algorithm: "SHA-256", value: "ab".repeat(32) }]);
  assert.deepEqual(e.finding_info.attacks, [
    { tactic: { uid: "TA0006", name: "Credential Access" }, technique: { uid: "T1110" } },
    { tactic: { uid: "TA0006", name: "Credential Access" }, technique: { uid: "T1110.001" } },
  ]);
  assert.equal(e.remediation?.desc, "Block the source address\nReset the account password");
});

test("sentinel: a dismissed alert closes as Suppressed", () => {
  const e = finding({ ...LA_ROW, Status: "Dismissed" });
  assert.equal(e.activity_id, 3);
  assert.equal(e.status, "Suppressed");
});

test("sentinel: detect claims SecurityAlert only", () => {
  for (const other of [
    ...corpusEvents("microsoft_defender/elastic-integrations__m365_defender_alert__test-alert.log"),
    ...corpusEvents("microsoft_defender/panther-analysis__MicrosoftDefenderXDR.AdvancedHunting.jsonl"),
    ...corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl"),
  ])
    assert.equal(microsoftSentinelAlert.detect(json(other)), false);
});

test("sentinel: a SecurityAlert without SystemAlertId is a clear error; a bad time falls back to the received time", () => {
  assert.throws(() => microsoftSentinelAlert.normalize(json({ ...LA_ROW, SystemAlertId: "" })), /SystemAlertId/);
  const { StartTime: _s, ...row } = LA_ROW as Record<string, unknown>;
  const e = finding({ ...row, TimeGenerated: "yesterday" });
  assert.equal(e.riposte.time_fallback, true);
});

test("sentinel: CompromisedEntity names the user or host when Entities do not", () => {
  const { Entities: _e, ...row } = LA_ROW as Record<string, unknown>;
  assert.equal(finding({ ...row, CompromisedEntity: "jdoe@contoso.com" }).riposte.entity_key, "user:jdoe@contoso.com");
  assert.equal(finding({ ...row, CompromisedEntity: "web-07" }).riposte.entity_key, "host:web-07");
});
