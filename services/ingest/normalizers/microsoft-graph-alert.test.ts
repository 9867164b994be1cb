import { test } from "node:test";
import assert from "node:assert/strict";
import { microsoftGraphAlert } from "./microsoft-graph-alert.ts";
import { corpusEvents, json, normalizeWith, otherVendors, outcomeOf } from "./testing.ts";
import {
  CLOUD_RESOURCE,
  LEGACY_ALERT,
  LIST_RESPONSE,
  MAILBOX_ONLY,
  ODATA_SPELLED,
  PARTIAL_IDENTITY,
  PASCAL_CASE,
} from "./fixtures/graph.ts";

const HIDDEN_FILE = "microsoft_defender/elastic-integrations__m365_defender_alert__test-alert.log";
const POWERSHELL = "microsoft_defender/elastic-integrations__m365_defender_alert__expected-event-original.json";
const HUNTING = "microsoft_defender/panther-analysis__MicrosoftDefenderXDR.AdvancedHunting.jsonl";

const finding = (ev: object) => {
  const e = normalizeWith(microsoftGraphAlert, json(ev as Record<string, unknown>));
  if (e.class_uid !== 2004) throw new Error("not a finding");
  return e;
};

test("graph alert: 'Suspicious execution of hidden file' (MDE) maps device, evidence, severity, time, title", () => {
  const all = corpusEvents(HIDDEN_FILE);
  assert.equal(all.length, 1);
  const e = finding(all[0]!);
  assert.equal(e.finding_info.title, "Suspicious execution of hidden file");
  assert.equal(e.finding_info.uid, "da637551227677560813_-961444813");
  assert.equal(e.severity_id, 2);
  assert.equal(e.status, "New");
  assert.equal(e.time, Date.parse("2021-04-27T12:19:27.721Z"));
  assert.equal(e.finding_info.first_seen_time, Date.parse("2021-04-26T07:45:50.116Z"));
  assert.equal(e.device?.hostname, "tempDns");
  assert.equal(e.device?.ip, "1.1.1.1");
  assert.equal(e.device?.uid, "73e7e2de709dff64ef64b1d0c30e67fab63279db");
  assert.equal(e.user, undefined, "no userEvidence: the SYSTEM account stays on the process");
  assert.equal(e.riposte.entity_key, "host:tempdns");
  assert.deepEqual(e.finding_info.attacks, [
    { tactic: { uid: "TA0005", name: "Defense Evasion" }, technique: { uid: "T1564.001" } },
  ]);
  assert.equal(e.metadata.product.name, "Microsoft Defender for Endpoint");
  assert.equal(e.metadata.correlation_uid, "28282");
  const proc = e.evidences?.find((ev) => ev.process)?.process;
  assert.equal(proc?.pid, 4780);
  assert.equal(proc?.user?.name, "SYSTEM");
  assert.equal(proc?.parent_process?.name, "services.exe");
  assert.equal(e.evidences?.find((ev) => ev.file && !ev.process)?.file?.path, "C:\\Program Files\\temp\\MsSense.exe");
  assert.ok(
    e.evidences?.some((ev) =>
      (ev["reg_key"] as { path?: string } | undefined)?.path?.startsWith("HKEY_LOCAL_MACHINE\\SYSTEM"),
    ),
  );
  assert.ok(e.remediation?.desc.startsWith("Collect artifacts"));
});

test("graph alert: 'Suspicious PowerShell command line' maps device, user, url, ip and process evidence", () => {
  const all = corpusEvents(POWERSHELL);
  assert.equal(all.length, 1);
  const e = finding(all[0]!);
  assert.equal(e.finding_info.title, "Suspicious PowerShell command line");
  assert.equal(e.severity, "Medium");
  assert.equal(e.time, Date.parse("2023-10-20T09:53:09.883Z"));
  assert.equal(e.device?.hostname, "clw555test");
  assert.equal(e.device?.ip, "192.168.5.65", "loopback and link-local interfaces are skipped");
  assert.deepEqual(e.device?.os, { name: "Windows11", version: "22H2" });
  assert.equal(e.user?.name, "CDPUserIS-38411");
  assert.equal(e.user?.domain, "AzureAD");
  assert.deepEqual(e.finding_info.attacks, [
    { tactic: { uid: "TA0002", name: "Execution" }, technique: { uid: "T1059.001" } },
  ]);
  assert.ok(e.evidences?.some((ev) => ev.url?.url_string === "http://127.0.0.1/1.exe"));
  assert.ok(e.evidences?.some((ev) => ev.dst_endpoint?.ip === "127.0.0.1"));
  assert.ok(e.evidences?.some((ev) => ev.process?.cmd_line?.startsWith("powershell.exe  -NoExit")));
  assert.ok(
    e.observables?.some(
      (o) => o.type_id === 8 && o.value === "d783ba6567faf10fdff2d0ea3864f6756862d6c733c7f4467283da81aedc3a80",
    ),
  );
  assert.equal(e.metadata.product.name, "Microsoft Defender for Endpoint");
});

test("graph alert: Advanced Hunting rows are not detected, and refused with a reason when named", () => {
  const rows = corpusEvents(HUNTING);
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(microsoftGraphAlert.detect(json(row)), false);
    const out = outcomeOf(microsoftGraphAlert, json(row));
    assert.ok(out.kind === "rejected" && /Advanced Hunting/.test(out.reason), JSON.stringify(out));
  }
});

test("graph alert: detect claims Graph alerts only", () => {
  for (const ev of [...corpusEvents(HIDDEN_FILE), ...corpusEvents(POWERSHELL)])
    assert.ok(microsoftGraphAlert.detect(json(ev)));
  for (const other of [
    ...corpusEvents("microsoft_sentinel/elastic-integrations__microsoft_sentinel_alert__test-alert.log"),
    ...corpusEvents(
      "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-epp-detection-summary.excerpt.log",
    ),
    ...corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl"),
  ])
    assert.equal(microsoftGraphAlert.detect(json(other)), false);
});

test("graph alert: a resolved false positive closes as Suppressed; an alert without id/title is a clear error", () => {
  const base = corpusEvents(POWERSHELL)[0]!;
  const closed = finding({ ...base, status: "resolved", classification: "falsePositive" });
  assert.equal(closed.activity_id, 3);
  assert.equal(closed.status_id, 3);
  assert.throws(
    () =>
      microsoftGraphAlert.normalize(
        json({ "@odata.type": "#microsoft.graph.security.alert", createdDateTime: "2024-01-01T00:00:00Z" }),
      ),
    /without id and title/,
  );
});

// Shapes built field by field from the Graph v1.0 reference pages named in fixtures/graph.ts.

test("graph alert: an alert carrying only part of the documented fields, without @odata.type, is recognised; the compromised user and attacker IP map", () => {
  assert.ok(microsoftGraphAlert.detect(json(PARTIAL_IDENTITY)));
  const e = finding(PARTIAL_IDENTITY);
  assert.equal(e.finding_info.title, "Unfamiliar sign-in properties");
  assert.equal(e.time, Date.parse("2026-02-01T08:15:30.123Z"));
  assert.equal(e.severity, "Medium");
  assert.equal(e.user?.name, "mgarcia@contoso.example");
  assert.equal(e.user?.uid, "5d7f9a1b-0000-4000-8000-0000000000b1");
  assert.deepEqual(e.src_endpoint, { ip: "198.51.100.77", location: { country: "NL" } });
  assert.equal(e.riposte.entity_key, "user:mgarcia@contoso.example");
  assert.equal(e.metadata.product.name, "Microsoft Entra ID Protection");
  assert.deepEqual(e.finding_info.attacks, [{ tactic: { uid: "TA0001", name: "Initial Access" } }]);
});

test("graph alert: `odata.type` without '#' and PascalCase keys (PowerShell export) are recognised and mapped", () => {
  assert.ok(microsoftGraphAlert.detect(json(ODATA_SPELLED)));
  const spelled = finding(ODATA_SPELLED);
  assert.equal(spelled.device?.hostname, "fin-ws-042.contoso.example");
  assert.equal(spelled.device?.ip, "10.20.30.40");
  assert.equal(spelled.status, "In Progress");
  assert.equal(spelled.riposte.entity_key, "host:fin-ws-042.contoso.example");

  assert.ok(microsoftGraphAlert.detect(json(PASCAL_CASE)));
  const pascal = finding(PASCAL_CASE);
  assert.equal(pascal.finding_info.title, "Ransomware behavior detected");
  assert.equal(pascal.time, Date.parse("2026-02-03T11:00:00Z"));
  assert.equal(pascal.severity, "High");
  assert.equal(pascal.device?.hostname, "srv-files-02", "device evidence known by its fields");
  assert.equal(pascal.user?.name, "svc-sql");
  assert.equal(pascal.user?.domain, "CONTOSO");
  const proc = pascal.evidences?.find((ev) => ev.process)?.process;
  assert.equal(proc?.pid, 6120);
  assert.equal(proc?.file?.path, "C:\\Windows\\System32\\vssadmin.exe");
  assert.equal(pascal.metadata.product.name, "Microsoft Defender for Endpoint");
});

test("graph alert: a cloud resource is the entity when there is no device or user; a mailbox's owner is the user", () => {
  const cloud = finding(CLOUD_RESOURCE);
  assert.deepEqual(cloud.resources, [
    {
      uid: "arn:aws:s3:::contoso-finance-exports",
      name: "contoso-finance-exports",
      type: "S3 bucket",
      account_uid: "111122223333",
    },
  ]);
  assert.equal(cloud.riposte.entity_key, "resource:arn:aws:s3:::contoso-finance-exports");
  const mail = finding(MAILBOX_ONLY);
  assert.equal(mail.user?.email_addr, "ceo@contoso.example");
  assert.equal(mail.riposte.entity_key, "user:ceo@contoso.example");
  assert.equal(mail.status, "Resolved");
});

test("graph alert: a list response is refused as a batch; a legacy alert is not claimed and is refused when named", () => {
  assert.ok(microsoftGraphAlert.detect(json(LIST_RESPONSE)));
  const list = outcomeOf(microsoftGraphAlert, json(LIST_RESPONSE));
  assert.ok(list.kind === "rejected" && /2 alerts .* value\[\]/.test(list.reason), JSON.stringify(list));
  assert.equal(microsoftGraphAlert.detect(json(LEGACY_ALERT)), false);
  const legacy = outcomeOf(microsoftGraphAlert, json(LEGACY_ALERT));
  assert.ok(legacy.kind === "rejected" && /legacy alerts API/.test(legacy.reason), JSON.stringify(legacy));
});

test("graph alert: the partial-field recognition claims no other vendor's corpus event", () => {
  for (const other of otherVendors("microsoft_defender")) assert.equal(microsoftGraphAlert.detect(json(other)), false);
});
