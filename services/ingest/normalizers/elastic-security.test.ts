import { test } from "node:test";
import assert from "node:assert/strict";
import { elasticSecurity } from "./elastic-security.ts";
import { corpusEvents, json, normalizeWith } from "./testing.ts";

const FILE = "elastic_security_alerts/elastic-integrations__elastic_security_alert__test-alert.log";
const ALERTS = corpusEvents(FILE);

/** The same document with every dotted key expanded into nested objects. */
function nest(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(nest);
  if (o === null || typeof o !== "object") return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const parts = k.split(".");
    let cur = out;
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    const last = parts[parts.length - 1]!;
    const nv = nest(v);
    cur[last] =
      cur[last] && typeof cur[last] === "object" && typeof nv === "object" ? { ...cur[last], ...(nv as object) } : nv;
  }
  return out;
}

function assertEmpireAlert(doc: Record<string, unknown>) {
  const e = normalizeWith(elasticSecurity, json(doc));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.uid, "abcdef123");
  assert.equal(e.finding_info.title, "Malicious Behavior Prevention Alert: Empire Stager Execution");
  assert.equal(e.severity_id, 4);
  assert.equal(e.severity, "High");
  assert.equal(e.risk_score, 73);
  assert.equal(e.time, Date.parse("2024-06-09T13:52:07.402Z"));
  assert.equal(e.finding_info.created_time, Date.parse("2024-06-09T13:56:03.205Z"));
  assert.equal(e.device?.hostname, "siem-linux-release-sec-bis");
  assert.equal(e.device?.ip, "89.160.20.156");
  assert.deepEqual(e.device?.os, { name: "Linux", type: "linux", version: "11.9" });
  assert.deepEqual(e.user, { name: "admin", uid: "1005" });
  assert.equal(e.riposte.entity_key, "host:siem-linux-release-sec-bis");
  assert.equal(e.status, "New");
  assert.equal(e.finding_info.analytic?.uid, "9a1a2dae-0b5f-4c3d-8305-a268d404c306");
  assert.deepEqual(
    e.finding_info.attacks?.map((a) => `${a.tactic?.uid}/${a.technique?.uid}`),
    ["TA0002/T1059", "TA0002/T1059.004", "TA0002/T1059.006", "TA0011/T1132", "TA0011/T1132.001"],
  );
  const proc = e.evidences?.[0]?.process;
  assert.equal(proc?.cmd_line, "/tmp/bash exec(base64.b64decode*abcdef)");
  assert.equal(proc?.parent_process?.name, "python3");
  assert.ok(proc?.file?.hashes?.some((h) => h.algorithm === "SHA-256"));
  assert.equal(e.metadata.product.name, "Elastic Security");
  assert.deepEqual(e.unmapped?.["responses"], ["kill_process"]);
}

test("elastic: the corpus alert (dotted kibana.alert.* keys) maps host, user, severity, time, title and MITRE", () => {
  assert.equal(ALERTS.length, 1);
  assertEmpireAlert(ALERTS[0]!);
});

test("elastic: the same alert with fully nested keys maps the same", () => {
  assertEmpireAlert(nest(ALERTS[0]!) as Record<string, unknown>);
});

test("elastic: rule threat wins over the source event's; risk_score alone gives the severity; closed is Resolved", () => {
  const doc: Record<string, unknown> = {
    ...ALERTS[0]!,
    "kibana.alert.severity": undefined,
    "kibana.alert.rule.severity": undefined,
    "kibana.alert.risk_score": 95,
    "kibana.alert.workflow_status": "closed",
    "kibana.alert.rule.threat": [
      { framework: "MITRE ATT&CK", tactic: { id: "TA0006", name: "Credential Access" }, technique: [] },
    ],
  };
  const e = normalizeWith(elasticSecurity, json(doc));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.severity_id, 5);
  assert.equal(e.status_id, 4);
  assert.deepEqual(e.finding_info.attacks, [{ tactic: { uid: "TA0006", name: "Credential Access" } }]);
});

test("elastic: a building-block alert is a finding that is not an alert, labelled; a malformed alert is a clear error", () => {
  const bb = normalizeWith(elasticSecurity, json({ ...ALERTS[0]!, "kibana.alert.building_block_type": "default" }));
  assert.ok(bb.class_uid === 2004);
  assert.equal(bb.is_alert, false);
  assert.deepEqual(bb.metadata.labels, ["elastic:building_block:default"]);
  assert.throws(() => elasticSecurity.normalize(json({ "kibana.alert.uuid": "x" })), /kibana.alert.rule.name/);
  const undated = normalizeWith(
    elasticSecurity,
    json({ "kibana.alert.uuid": "x", "kibana.alert.rule.name": "r", "@timestamp": "yesterday" }),
  );
  assert.equal(undated.riposte.time_fallback, true, "an unreadable time: the received time, marked");
});

test("elastic: detection is specific to kibana.alert documents", () => {
  assert.ok(elasticSecurity.detect(json(ALERTS[0]!)));
  assert.ok(elasticSecurity.detect(json(nest(ALERTS[0]!) as Record<string, unknown>)));
  for (const other of [
    ...corpusEvents("splunk_notable/elastic-integrations__splunk_alert__test-alert.log"),
    ...corpusEvents("proofpoint_tap/elastic-integrations__proofpoint_tap_clicks_blocked__test-clicks-blocked.log"),
  ]) {
    assert.equal(elasticSecurity.detect(json(other)), false);
  }
});
