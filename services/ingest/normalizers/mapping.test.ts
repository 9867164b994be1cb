/**
 * Source mapping files: the interpreter, its checks, and the mappings shipped in rules/sources/ on events built field by
 * field from each vendor's documented shape (sources named at each fixture; values are our own: documentation IPs,
 * placeholder ids).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { checkMappingText } from "../sources.ts";
import { detectFormat, normalizeEvent, registerSourceMappings, type NormalizeOutcome } from "./index.ts";
import { compileMapping, readPath } from "./mapping.ts";
import { json, otherVendors } from "./testing.ts";

const SOURCES = new URL("../../../rules/sources/", import.meta.url);
const shipped = readdirSync(SOURCES).filter((f) => f.endsWith(".yaml"));

function load(file: string) {
  const out = checkMappingText(file, readFileSync(new URL(file, SOURCES), "utf8"));
  assert.ok(out.ok, JSON.stringify(out));
  return out.normalizer;
}
registerSourceMappings(shipped.map(load));

const RECEIVED = 1_800_000_000_000;
const run = (value: Record<string, unknown>, format?: string): NormalizeOutcome =>
  normalizeEvent(json(value), JSON.stringify(value), { source: "vendor", format, receivedTime: RECEIVED });
function ok(value: Record<string, unknown>, format?: string): NormalizedEvent {
  const out = run(value, format);
  assert.ok(out.ok, JSON.stringify(out));
  return out.event;
}

// Cisco Duo: the authentication log items of the Admin API (https://duo.com/docs/adminapi#authentication-logs, v2
// response) in the shape of elastic/integrations packages/cisco_duo/data_stream/auth/_dev/test/pipeline/test-auth.log.
const duo = (over: Record<string, unknown> = {}) => ({
  access_device: {
    browser: "Chrome",
    browser_version: "120.0.6099.71",
    hostname: null,
    ip: "198.51.100.23",
    location: { city: "Springfield", country: "United States", state: "Illinois" },
    os: "Windows",
    os_version: "11",
  },
  alias: "",
  application: { key: "DIAPPKEY000000000001", name: "Corp VPN" },
  auth_device: { ip: "203.0.113.9", location: { city: "Springfield", country: "United States" }, name: "Phone 1" },
  email: "jdoe@example.com",
  event_type: "authentication",
  factor: "duo_push",
  isotimestamp: "2026-03-04T10:11:12.345678+00:00",
  reason: "user_approved",
  result: "success",
  timestamp: 1772619072,
  txid: "00000000-0000-4000-8000-000000000001",
  user: { groups: ["VPN Users"], key: "DUUSERKEY00000000001", name: "jdoe" },
  ...over,
});

test("cisco_duo_auth: a Duo push approval is an OCSF Authentication of the user, from the access device", () => {
  const e = ok(duo());
  assert.equal(e.class_uid, 3002);
  assert.equal(e.riposte.format, "cisco_duo_auth");
  assert.equal(e.riposte.entity_key, "user:jdoe");
  assert.equal(e.time, Date.parse("2026-03-04T10:11:12.345Z"));
  assert.equal(e.riposte.time_fallback, undefined);
  assert.equal(e.activity_id, 1);
  assert.equal(e.severity_id, 1);
  assert.equal(e.status_id, 1);
  assert.equal(e.metadata.uid, "00000000-0000-4000-8000-000000000001");
  assert.deepEqual(e.metadata.product, { vendor_name: "Cisco", name: "Duo" });
  if (e.class_uid !== 3002) return;
  assert.deepEqual(e.user, { name: "jdoe", uid: "DUUSERKEY00000000001", email_addr: "jdoe@example.com" });
  assert.equal(e.is_mfa, true);
  assert.deepEqual(e.service, { name: "Corp VPN", uid: "DIAPPKEY000000000001" });
  assert.equal(e.src_endpoint?.ip, "198.51.100.23");
  assert.equal(e.src_endpoint?.hostname, undefined, "a null member is absent");
  assert.deepEqual(e.src_endpoint?.location, { city: "Springfield", country: "United States" });
  assert.equal(e.device?.ip, "203.0.113.9");
});

test("cisco_duo_auth: a push marked as fraud is a failed, high-severity sign-in; a bad address is left out", () => {
  const e = ok(
    duo({
      result: "fraud",
      reason: "user_marked_fraud",
      access_device: { ip: "198.51.100.23:4321", hostname: "kiosk-7" },
      isotimestamp: undefined,
    }),
  );
  assert.equal(e.severity_id, 4);
  assert.equal(e.status_id, 2);
  assert.equal(e.message, "user_marked_fraud");
  assert.equal(e.src_endpoint?.ip, undefined, "ip:port is not an address");
  assert.equal(e.src_endpoint?.hostname, "kiosk-7");
  assert.equal(e.time, 1772619072000, "falls back to the epoch-seconds timestamp");
});

test("cisco_duo_auth: an enrollment is activity Other; with no user name the e-mail is the user", () => {
  const e = ok(duo({ event_type: "enrollment", user: { key: "DUUSERKEY00000000002", name: "" } }));
  assert.equal(e.activity_id, 99);
  assert.equal(e.riposte.entity_key, "user:jdoe@example.com");
  const none = ok(duo({ isotimestamp: "redacted", timestamp: null }));
  assert.equal(none.time, RECEIVED);
  assert.equal(none.riposte.time_fallback, true);
});

// SentinelOne: a threat of the Management API (GET /web/api/v2.1/threats, data[]) in the shape of
// elastic/integrations packages/sentinel_one/data_stream/threat/_dev/test/pipeline/test-pipeline-threat.log.
const s1 = (threat: Record<string, unknown> = {}, detection: Record<string, unknown> = {}) => ({
  agentDetectionInfo: {
    accountId: "1000000000000000001",
    agentDomain: "CORP",
    agentIpV4: "192.0.2.10",
    agentLastLoggedInUserName: "jdoe",
    agentOsName: "windows",
    ...detection,
  },
  agentRealtimeInfo: {
    accountId: "1000000000000000001",
    accountName: "Example",
    agentComputerName: "WS-0042",
    agentDomain: "CORP",
    agentId: "1000000000000000042",
    agentMachineType: "laptop",
    agentOsName: "Windows 11 Pro",
    agentOsRevision: "22631",
    agentUuid: "00000000000000000000000000000042",
    networkInterfaces: [{ id: "1", inet: ["192.0.2.11"], inet6: [], name: "Ethernet", physical: "00-00-5E-00-53-00" }],
  },
  id: "1000000000000000777",
  indicators: [],
  mitigationStatus: [],
  threatInfo: {
    classification: "Trojan",
    classificationSource: "Cloud",
    confidenceLevel: "malicious",
    createdAt: "2026-03-04T09:00:01.000000Z",
    detectionType: "static",
    filePath: "\\Device\\HarddiskVolume3\\Users\\jdoe\\Downloads\\invoice.exe",
    fileSize: 1234,
    identifiedAt: "2026-03-04T09:00:00.500000Z",
    incidentStatus: "unresolved",
    maliciousProcessArguments: null,
    md5: null,
    mitigationStatusDescription: "Not mitigated",
    originatorProcess: "explorer.exe",
    processUser: "CORP\\jdoe",
    sha1: "3395856ce81f2b7382dee72602f798b642f14140",
    sha256: null,
    threatId: "1000000000000000777",
    threatName: "invoice.exe",
    updatedAt: "2026-03-04T09:05:00.000000Z",
    ...threat,
  },
});

test("sentinelone_threat: a threat is a Detection Finding on the endpoint, with the file as evidence", () => {
  const e = ok(s1());
  assert.equal(e.class_uid, 2004);
  assert.equal(e.riposte.entity_key, "host:ws-0042");
  assert.equal(e.severity_id, 4);
  assert.equal(e.time, Date.parse("2026-03-04T09:00:00.500Z"));
  if (e.class_uid !== 2004) return;
  assert.equal(e.finding_info.uid, "1000000000000000777");
  assert.equal(e.finding_info.title, "invoice.exe");
  assert.deepEqual(e.finding_info.types, ["Trojan"]);
  assert.equal(e.finding_info.created_time, Date.parse("2026-03-04T09:00:01Z"));
  assert.equal(e.confidence_id, 3);
  assert.equal(e.status_id, 1);
  assert.equal(e.device?.ip, "192.0.2.10");
  assert.equal(e.device?.uid, "1000000000000000042");
  assert.equal(e.user?.name, "jdoe");
  const file = e.evidences?.[0]?.file;
  assert.equal(file?.name, "invoice.exe");
  assert.deepEqual(file?.hashes, [{ algorithm: "SHA-1", value: "3395856ce81f2b7382dee72602f798b642f14140" }]);
  assert.equal(e.evidences?.[0]?.process?.name, "explorer.exe");
  assert.ok(e.observables?.some((o) => o.name === "evidences[0].file.hashes" && o.type_id === 8));
});

test("sentinelone_threat: fallbacks fill what a threat lacks; an unknown confidence is Unknown severity", () => {
  const e = ok(s1({ threatName: null, confidenceLevel: "n/a", identifiedAt: null }, { agentIpV4: null }));
  assert.equal(e.severity_id, 0);
  assert.equal(e.device?.ip, "192.0.2.11", "the first interface's address");
  assert.equal(e.time, Date.parse("2026-03-04T09:00:01Z"));
  if (e.class_uid === 2004) assert.equal(e.finding_info.title, "Trojan");
});

// Sophos Central: an alert of the SIEM Integration API (GET /siem/v1/alerts, items[];
// https://developer.sophos.com/docs/siem-v1/1/routes/alerts/get) in the shape of elastic/integrations
// packages/sophos_central/data_stream/alert/_dev/test/pipeline/test-pipeline-activity.log.
const sophos = (over: Record<string, unknown> = {}) => ({
  category: "malware",
  created_at: "2026-03-04T08:30:05.120Z",
  customer_id: "00000000-0000-4000-8000-0000000000c1",
  data: {
    endpoint_id: "00000000-0000-4000-8000-0000000000e1",
    endpoint_platform: "windows",
    endpoint_type: "computer",
    source_info: { ip: "192.0.2.44" },
  },
  description: "Malware detected: 'Mal/Generic-S' at 'C:\\Users\\jdoe\\Downloads\\invoice.exe'",
  event_service_event_id: "00000000-0000-4000-8000-0000000000a1",
  id: "00000000-0000-4000-8000-0000000000a1",
  location: "LAPTOP-0042",
  severity: "high",
  source: "CORP\\jdoe",
  threat: "Mal/Generic-S",
  threat_cleanable: true,
  type: "Event::Endpoint::Threat::Detected",
  when: "2026-03-04T08:30:00.000Z",
  ...over,
});

test("sophos_central_alert: an alert is a Detection Finding on the endpoint it names", () => {
  const e = ok(sophos());
  assert.equal(e.class_uid, 2004);
  assert.equal(e.riposte.entity_key, "host:laptop-0042");
  assert.equal(e.severity_id, 4);
  assert.equal(e.time, Date.parse("2026-03-04T08:30:00Z"));
  assert.equal(e.metadata.event_code, "Event::Endpoint::Threat::Detected");
  if (e.class_uid !== 2004) return;
  assert.match(e.finding_info.title, /^Malware detected/);
  assert.deepEqual(e.finding_info.types, ["malware"]);
  assert.equal(e.device?.ip, "192.0.2.44");
  assert.equal(e.user?.name, "CORP\\jdoe");
});

test("sophos_central_alert: without an endpoint name the user is the entity; IPS details become evidence", () => {
  const e = ok(
    sophos({
      location: undefined,
      severity: "medium",
      // The SIEM API's alert schema also documents endpoint_id and endpoint_type at the top level.
      endpoint_id: "00000000-0000-4000-8000-0000000000e2",
      endpoint_type: "server",
      data: {
        ips_threat: { executable_name: "Bad Program", remote_ip: "203.0.113.80", remote_port: "445" },
      },
    }),
  );
  assert.equal(e.riposte.entity_key, "user:corp\\jdoe");
  assert.equal(e.severity_id, 3);
  assert.deepEqual(e.device, { uid: "00000000-0000-4000-8000-0000000000e2", type: "server" });
  if (e.class_uid !== 2004) return;
  assert.equal(e.evidences?.[0]?.process?.name, "Bad Program");
  assert.deepEqual(e.evidences?.[0]?.dst_endpoint, { ip: "203.0.113.80", port: 445 });
});

test("every shipped mapping is detected on its own fixtures and on no corpus event of another vendor", () => {
  assert.equal(detectFormat(json(duo()))?.format, "cisco_duo_auth");
  assert.equal(detectFormat(json(s1()))?.format, "sentinelone_threat");
  assert.equal(detectFormat(json(sophos()))?.format, "sophos_central_alert");
  const mine = new Set(["cisco_duo_auth", "sentinelone_threat", "sophos_central_alert"]);
  for (const e of otherVendors()) {
    const f = detectFormat(json(e))?.format;
    assert.ok(f === undefined || !mine.has(f), `${f} claims ${JSON.stringify(e).slice(0, 200)}`);
  }
});

test("a format hint or alias names a mapping; a mismatch is a precise schema error", () => {
  assert.equal(ok(duo(), "duo").riposte.format, "cisco_duo_auth");
  const out = run({ customer_id: "y", severity: "low", type: "Event::Other" }, "sophos_central_alert");
  assert.ok(!out.ok && out.code === "RIPOSTE_SCHEMA_INVALID", JSON.stringify(out));
  assert.match(out.reason, /^sophos_central_alert: does not fit the OCSF schema: finding_info\.uid/);
  assert.ok(!run(duo(), "sentinelone_threat").ok);
});

// The interpreter on mappings written for the test.

const base = {
  format: "acme_alert",
  product: { vendor_name: "Acme", name: "Sensor" },
  detect: [{ path: "acme.kind", equals: "alert" }],
  class_uid: 2004,
  activity_id: 1,
  severity: { path: "level", map: { "1": 2, "2": 4 }, default: 1 },
  fields: { "finding_info.uid": "id", "finding_info.title": "name", "device.hostname": "host" },
  entity: "device.hostname",
};

function problems(doc: unknown): string[] {
  const out = compileMapping(doc);
  assert.ok(!out.ok, "expected problems");
  return out.problems.map((p) => `${p.path.join(".")}: ${p.message}`);
}

test("a mapping is checked against the OCSF class it emits, with the path of each problem", () => {
  assert.ok(compileMapping(base).ok);
  const p = problems({
    ...base,
    class_uid: 9999,
    fields: { ...base.fields, "device.nope": "x", riposte: "y" },
  });
  assert.ok(
    p.some((s) => s.startsWith("class_uid: class_uid 9999 is not one Riposte emits")),
    p.join("\n"),
  );
  const q = problems({ ...base, fields: { "device.nope": "x", "riposte.entity_key": "y", "finding_info.uid": "id" } });
  assert.ok(
    q.some((s) => s.startsWith("fields.device.nope: not an OCSF field")),
    q.join("\n"),
  );
  assert.ok(
    q.some((s) => s.startsWith("fields.riposte.entity_key: ") && s.includes("set by Riposte")),
    q.join("\n"),
  );
  assert.ok(
    q.some((s) => s.includes("requires finding_info.title")),
    q.join("\n"),
  );
  assert.ok(
    q.some((s) => s.startsWith("entity: device.hostname is not in fields")),
    q.join("\n"),
  );
  const r = problems({ ...base, fields: { ...base.fields, evidences: "x", "device.ip": { const: "not-an-ip" } } });
  assert.ok(
    r.some((s) => s.startsWith("fields.evidences: ") && s.includes("is a list")) ||
      r.some((s) => s.includes("evidences")),
    r.join("\n"),
  );
  assert.ok(
    r.some((s) => s.startsWith("fields.device.ip.const: ")),
    r.join("\n"),
  );
});

test("member paths are data: no expressions, no prototype members, bounded length", () => {
  for (const bad of ["a..b", "a.__proto__.b", "constructor", "a[1000]", "a[x]", "${a}", "a.b()", "x".repeat(300)]) {
    const p = problems({ ...base, fields: { ...base.fields, "device.name": bad } });
    assert.ok(
      p.some((s) => s.startsWith("fields.device.name")),
      `${bad}: ${p.join("\n")}`,
    );
  }
  const p = problems({ ...base, detect: [{ path: "a", present: true, prefix: "b" }] });
  assert.ok(
    p.some((s) => s.includes("exactly one of")),
    p.join("\n"),
  );
  assert.ok(problems({ ...base, extra: 1 }).length > 0, "unknown keys are refused");
  // Reading never reaches a prototype: an inherited member is absent.
  assert.equal(readPath({}, ["toString"]), undefined);
  assert.equal(readPath({ a: [{ b: 1 }] }, ["a", 0, "b"]), 1);
});

test("a class from a table: unmapped values are refused as unsupported, each class gets its own fields", () => {
  const compiled = compileMapping({
    ...base,
    class_uid: { path: "kind", map: { signin: 3002, alert: 2004 } },
    fields: { ...base.fields, "user.name": "who", is_mfa: { const: true } },
    entity: ["device.hostname", "user.name"],
  });
  assert.ok(compiled.ok, JSON.stringify(compiled));
  const n = compiled.normalizer;
  const signin = n.normalize(json({ kind: "SignIn", who: "Ann", host: "h1" }));
  assert.ok(!("rejected" in signin) && signin.class_uid === 3002);
  assert.ok(!("finding_info" in signin), "Detection Finding fields are not set on an Authentication");
  const other = n.normalize(json({ kind: "heartbeat" }));
  assert.ok(
    "rejected" in other && other.code === "RIPOSTE_EVENT_UNSUPPORTED" && /kind is not in its table/.test(other.reason),
  );
});

test("constants fill only objects the event gave a value to; numbers and booleans are coerced to OCSF types", () => {
  const compiled = compileMapping({
    ...base,
    fields: {
      ...base.fields,
      "evidences[0].file.hashes[0].algorithm": { const: "SHA-256" },
      "evidences[0].file.hashes[0].value": "sha",
      "device.uid": "agent",
      "src_endpoint.port": "port",
      risk_score: "risk",
      is_alert: "flag",
    },
  });
  assert.ok(compiled.ok, JSON.stringify(compiled));
  const n = compiled.normalizer;
  const without = n.normalize(json({ id: "1", name: "t", host: "h" })) as Record<string, unknown>;
  assert.equal(without["evidences"], undefined);
  const withHash = n.normalize(
    json({ id: 1, name: "t", host: "h", sha: "ab".repeat(32), agent: 42, port: "8080", risk: "7.5", flag: "true" }),
  ) as Record<string, unknown>;
  assert.deepEqual(withHash["evidences"], [{ file: { hashes: [{ algorithm: "SHA-256", value: "ab".repeat(32) }] } }]);
  assert.deepEqual(withHash["device"], { hostname: "h", uid: "42" });
  assert.deepEqual(withHash["src_endpoint"], { port: 8080 });
  assert.equal(withHash["risk_score"], 7.5);
  assert.equal(withHash["is_alert"], true);
  assert.equal((withHash["finding_info"] as Record<string, unknown>)["uid"], "1");
});
