import { test } from "node:test";
import assert from "node:assert/strict";
import { crowdstrikeFalcon } from "./crowdstrike-falcon.ts";
import { auditActivity } from "./crowdstrike-audit.ts";
import {
  corpusEvents,
  corpusText,
  json,
  jsonObjects,
  normalizeWith,
  outcomeOf,
  otherVendors,
  pantherRecord,
  pantherRecords,
} from "./testing.ts";
import {
  ALERT_EPP,
  ALERT_IDP,
  DOTTED_EPP,
  ENVELOPE_EPP,
  ENVELOPE_IDP,
  ENVELOPE_ROLE_GRANT,
  ENVELOPE_SIGNIN,
  ENVELOPE_USER_ACTIVITY,
  FDR_SENSOR,
  FLAT_2FA_FAILED,
  FLAT_EPP,
  FLAT_LEGACY,
  LOGSCALE_EPP,
  UNKNOWN_PAYLOAD_EPP,
} from "./fixtures/crowdstrike.ts";

const LEGACY = "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-detection-summary.log";
const EPP = "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-epp-detection-summary.excerpt.log";
const STREAMS = "crowdstrike/panther-analysis__Crowdstrike.EventStreams.jsonl";

const legacy = jsonObjects(corpusText(LEGACY));
const epp = corpusEvents(EPP);
const streams = pantherRecords(STREAMS);

const finding = (ev: object) => {
  const e = normalizeWith(crowdstrikeFalcon, json(ev as Record<string, unknown>));
  assert.equal(e.class_uid, 2004);
  if (e.class_uid !== 2004) throw new Error("not a finding");
  return e;
};

test("crowdstrike: legacy DetectionSummaryEvent (NGAV PUP on ELASTICHOST) maps host, user, IP, severity, time, title, evidence", () => {
  assert.equal(legacy.length, 2);
  const e = finding(legacy[0]!);
  assert.equal(e.finding_info.title, "NGAV");
  assert.equal(e.finding_info.uid, "detect::id::test");
  assert.equal(e.finding_info.src_url, "https://falcon.crowdstrike.com/activity/detections/detail/REFERENCE?_cid=CID");
  assert.equal(e.device?.hostname, "ELASTICHOST");
  assert.equal(e.device?.ip, "89.160.20.112");
  assert.equal(e.device?.uid, "sensorid123");
  assert.equal(e.user?.name, "ELASTICUSER");
  assert.equal(e.severity_id, 2);
  assert.equal(e.time, 1686845212400);
  assert.equal(e.riposte.entity_key, "host:elastichost");
  assert.deepEqual(e.finding_info.attacks, [{ tactic: { name: "Malware" }, technique: { name: "PUP" } }]);
  const proc = e.evidences?.[0]?.process;
  assert.equal(proc?.cmd_line, '"C:\\Users\\TESTUSER\\SOFTWARE\\TESTSOFTWARE\\FILE.exe" -Embedding');
  assert.equal(proc?.pid, 123123);
  assert.equal(proc?.file?.path, "\\Device\\HarddiskVolume3\\Users\\ELASTICUSER\\Software\\TESTSOFTWARE\\TESTFILE.exe");
  assert.deepEqual(
    proc?.file?.hashes?.map((h) => h.algorithm),
    ["SHA-256", "SHA-1", "MD5"],
  );
  assert.ok(e.evidences?.some((ev) => ev.dst_endpoint?.ip === "67.43.156.1" && ev.dst_endpoint.port === 443));
  assert.ok(
    e.observables?.some(
      (o) => o.type_id === 8 && o.value === "0b2cde5b355bda69aeb15159fa98b5554053f0936259a53c6dfb0934389238a2",
    ),
  );
  const second = finding(legacy[1]!);
  assert.deepEqual(second.finding_info.attacks, [{ tactic: { name: "Malware" }, technique: { name: "PUP" } }]);
});

test("crowdstrike: every EppDetectionSummaryEvent of the excerpt normalizes, each named", () => {
  assert.equal(epp.length, 5);
  const [pup, linux, ods, ipv6, choice] = epp.map(finding);

  assert.equal(pup?.finding_info.title, "NGAV");
  assert.equal(pup?.device?.hostname, "DESKTOP1111");
  assert.equal(pup?.device?.ip, "81.2.69.144");
  assert.equal(pup?.user?.name, "USER11111");
  assert.equal(pup?.severity, "Low");
  assert.equal(
    pup?.finding_info.uid,
    "44be50f58ccfcfcfcfcfcfcfcffc:ind:c8d1292a8a904216aa25ab728f4b45fd:11111111111-2222-3333333",
  );
  assert.equal(pup?.evidences?.[0]?.process?.parent_process?.name, "rutserv.exe");

  assert.equal(linux?.finding_info.title, "Known Malware");
  assert.equal(linux?.device?.hostname, "linux-vm");
  assert.equal(linux?.device?.ip, "172.17.0.1");
  assert.equal(linux?.user?.name, "azureuser");
  assert.equal(linux?.severity, "High");
  assert.equal(
    linux?.evidences?.[0]?.process?.cmd_line,
    "git clone https://github.com/redcanaryco/atomic-red-team.git",
  );
  assert.equal(
    linux?.evidences?.[0]?.process?.pid,
    undefined,
    "a 64-bit pid JavaScript cannot hold exactly is left out",
  );
  assert.equal(
    linux?.evidences?.filter((ev) => ev.file && !ev.process).length,
    10,
    "FilesWritten become file evidences",
  );

  assert.equal(ods?.finding_info.title, "OnDemandScanfiletest");
  assert.equal(ods?.device?.hostname, "FRHOSTNAME");
  assert.equal(ods?.severity, "High", "Severity 70 on the 0-100 scale, without SeverityName");
  assert.equal(ods?.user, undefined);
  assert.equal(ods?.evidences?.[0]?.file?.path, "D:\\RECYCLER\\testpath\\testfile.vmx");
  assert.equal(ods?.unmapped?.["detection_type"], "ods");

  assert.equal(ipv6?.device?.ip, "172.17.0.1", "LocalIP is preferred to LocalIPv6");

  assert.equal(choice?.finding_info.title, "Suspicious Activity");
  assert.equal(choice?.device?.hostname, "CISO-DUMMY-CSDEV");
  assert.equal(choice?.device?.ip, "192.168.33.133");
  assert.equal(choice?.user?.name, "Administrator");
  assert.equal(choice?.time, 1742584040000);
  assert.equal(choice?.metadata.log_name, "EppDetectionSummaryEvent");
  assert.equal(choice?.evidences?.[0]?.process?.file?.hashes, undefined, "all-zero hashes are dropped");
});

/** The OCSF class of each audit operation in Panther's event-stream samples. */
const CLASS_OF: Record<string, number> = {
  userAuthenticate: 3002,
  createUser: 3001,
  deleteUser: 3001,
  changePassword: 3001,
  grantUserRoles: 3005,
  CreateAPIClient: 3004,
  DeleteAPIClients: 3004,
  CreateAllowlistGroup: 3004,
  UpdateAllowlistGroup: 3004,
  DeleteAllowlistGroup: 3004,
};

test("crowdstrike: Panther event streams — EPP detections, sign-ins and every audit operation normalize as their class", () => {
  for (const r of streams) {
    const out = outcomeOf(crowdstrikeFalcon, json(r.log));
    const type = (r.log["metadata"] as Record<string, unknown>)["eventType"];
    const event = r.log["event"] as Record<string, unknown> | undefined;
    if (type === "EppDetectionSummaryEvent") assert.equal(out.kind, "ok", `${r.name}: ${JSON.stringify(out)}`);
    else if (event === undefined)
      assert.ok(out.kind === "error" && /without an event body/.test(out.message), `${r.name}: ${JSON.stringify(out)}`);
    else {
      assert.ok(out.kind === "ok", `${r.name}: ${JSON.stringify(out)}`);
      const expected = CLASS_OF[String(event["OperationName"])];
      assert.equal(out.event.class_uid, expected, `${r.name}: ${String(event["OperationName"])}`);
      assert.equal(out.event.metadata.event_code, event["OperationName"]);
      assert.ok(out.event.riposte.entity_key.startsWith("user:"), r.name);
    }
  }
  const sev = (name: string) => finding(pantherRecord(streams, name)).severity;
  assert.equal(sev("INFO Alert"), "Informational");
  assert.equal(sev("MEDIUM Alert"), "Medium");
  assert.equal(sev("HIGH Alert"), "High");
  const high = finding(pantherRecord(streams, "HIGH Alert"));
  assert.equal(high.finding_info.title, "Known Malware");
  assert.equal(high.device?.hostname, undefined);
  assert.equal(high.device?.ip, "2.2.2.2");
  assert.equal(high.user?.name, "Administrator");
  assert.equal(high.time, Date.parse("2024-12-03T19:54:30Z"));
  assert.equal(high.riposte.entity_key, "user:administrator");
  assert.deepEqual(high.finding_info.attacks, [
    { tactic: { uid: "TA0002", name: "Execution" }, technique: { name: "User Execution" } },
  ]);
});

test("crowdstrike: detect claims Falcon records only", () => {
  for (const ev of [...legacy, ...epp, ...streams.map((r) => r.log)]) assert.ok(crowdstrikeFalcon.detect(json(ev)));
  for (const other of otherVendors("crowdstrike")) assert.equal(crowdstrikeFalcon.detect(json(other)), false);
});

test("crowdstrike: a detection without its event body or ids is a clear error", () => {
  const meta = { customerIDString: "c", offset: 1, eventType: "EppDetectionSummaryEvent", eventCreationTime: 1 };
  assert.throws(() => crowdstrikeFalcon.normalize(json({ metadata: meta })), /without an event body/);
  assert.throws(
    () => crowdstrikeFalcon.normalize(json({ metadata: meta, event: { Name: "x" } })),
    /CompositeId\/DetectId/,
  );
});

// Delivery shapes built field by field from the documents named in fixtures/crowdstrike.ts.

test("crowdstrike: one EPP detection maps the same from the envelope, flattened (ExternalApiType), dotted, unknown_payload and LogScale shapes", () => {
  for (const [name, shape] of Object.entries({
    ENVELOPE_EPP,
    FLAT_EPP,
    DOTTED_EPP,
    UNKNOWN_PAYLOAD_EPP,
    LOGSCALE_EPP,
  })) {
    assert.ok(crowdstrikeFalcon.detect(json(shape)), name);
    const e = finding(shape);
    assert.equal(e.finding_info.uid, ENVELOPE_EPP.event.CompositeId, name);
    assert.equal(e.finding_info.title, "CredentialDumping", name);
    assert.equal(e.metadata.log_name, "EppDetectionSummaryEvent", name);
    assert.equal(e.time, Date.parse("2026-01-01T12:00:00Z"), name);
    assert.equal(e.severity, "High", name);
    assert.equal(e.device?.hostname, "FIN-WS-042", name);
    assert.equal(e.device?.ip, "10.20.30.40", name);
    assert.equal(e.device?.uid, ENVELOPE_EPP.event.AgentId, name);
    assert.equal(e.user?.name, "jdoe", name);
    assert.equal(e.user?.domain, "CORP", name);
    assert.equal(e.riposte.entity_key, "host:fin-ws-042", name);
    assert.deepEqual(
      e.finding_info.attacks,
      [
        {
          tactic: { uid: "TA0006", name: "Credential Access" },
          technique: { uid: "T1003", name: "OS Credential Dumping" },
        },
      ],
      name,
    );
    const proc = e.evidences?.[0]?.process;
    assert.equal(proc?.pid, 12345678901, name);
    assert.equal(proc?.parent_process?.name, "cmd.exe", name);
    assert.ok(
      e.observables?.some((o) => o.type_id === 8 && o.value === ENVELOPE_EPP.event.SHA256String),
      name,
    );
  }
});

test("crowdstrike: flattened legacy Event_DetectionSummaryEvent: ComputerName, DetectId, string times, directory FilePath", () => {
  const e = finding(FLAT_LEGACY);
  assert.equal(e.finding_info.uid, FLAT_LEGACY.DetectId);
  assert.equal(e.finding_info.title, "Malicious Document");
  assert.equal(e.metadata.log_name, "DetectionSummaryEvent");
  assert.equal(e.time, Date.parse("2026-01-02T03:04:05Z"));
  assert.equal(e.finding_info.first_seen_time, Date.parse("2026-01-02T03:04:00Z"));
  assert.equal(e.severity_id, 4);
  assert.equal(e.device?.hostname, "mac-7");
  assert.equal(e.user?.name, "alice");
  assert.equal(e.evidences?.[0]?.process?.file?.path, "/Users/alice/Downloads/invoice.docm");
});

test("crowdstrike: IdpDetectionSummaryEvent: the source account is the user, source and target endpoints", () => {
  const e = finding(ENVELOPE_IDP);
  assert.equal(e.finding_info.title, "Unusual login to an endpoint");
  assert.equal(e.user?.name, "bsmith");
  assert.equal(e.user?.domain, "CORP.EXAMPLE");
  assert.equal(e.user?.uid, ENVELOPE_IDP.event.SourceAccountObjectSid);
  assert.deepEqual(e.src_endpoint, {
    hostname: "ws-17.corp.example",
    ip: "198.51.100.23",
    uid: ENVELOPE_IDP.event.SourceEndpointSensorId,
  });
  assert.equal(e.dst_endpoint?.hostname, "srv-db-01.corp.example");
  assert.equal(e.device, undefined);
  assert.equal(e.riposte.entity_key, "user:bsmith");
  assert.equal(e.severity, "Medium");
});

test("crowdstrike: Alerts API v2 endpoint alert: device object, process tree, files, network, status, tags", () => {
  assert.ok(crowdstrikeFalcon.detect(json(ALERT_EPP)));
  const e = finding(ALERT_EPP);
  assert.equal(e.finding_info.uid, ALERT_EPP.composite_id);
  assert.equal(e.finding_info.title, "Credential dumping via ProcDump");
  assert.equal(e.finding_info.analytic?.name, "CredentialDumping");
  assert.equal(e.metadata.log_name, "alerts_v2");
  assert.equal(e.time, Date.parse("2026-01-01T12:00:00Z"));
  assert.equal(e.finding_info.created_time, Date.parse("2026-01-01T12:00:05.123Z"));
  assert.equal(e.severity, "High");
  assert.equal(e.status, "New");
  assert.equal(e.confidence_score, 80);
  assert.deepEqual(e.device, {
    hostname: "FIN-WS-042",
    ip: "10.20.30.40",
    mac: "00-11-22-33-44-55",
    uid: ALERT_EPP.device.device_id,
    domain: "corp.example",
    os: { name: "Windows", version: "Windows 11" },
  });
  assert.deepEqual(e.user, {
    name: "jdoe",
    uid: ALERT_EPP.user_id,
    domain: "CORP",
    email_addr: "jdoe@corp.example",
  });
  assert.equal(e.riposte.entity_key, "host:fin-ws-042");
  const proc = e.evidences?.[0]?.process;
  assert.equal(proc?.pid, 4242, "local_process_id is the OS pid");
  assert.equal(proc?.parent_process?.pid, 4100);
  assert.equal(proc?.file?.hashes?.length, 2, "the all-zero sha1 is dropped");
  assert.ok(e.evidences?.some((ev) => ev.file?.path === "\\Device\\HarddiskVolume3\\Tools\\out.dmp"));
  assert.ok(e.evidences?.some((ev) => ev.dst_endpoint?.ip === "203.0.113.99" && ev.dst_endpoint.port === 443));
  assert.deepEqual(e.metadata.labels, ["falcon_complete"]);
  assert.deepEqual(e.finding_info.attacks, [
    {
      tactic: { uid: "TA0006", name: "Credential Access" },
      technique: { uid: "T1003", name: "OS Credential Dumping" },
    },
  ]);
});

test("crowdstrike: Alerts API v2 identity alert: source account as user, no device; a response batch is refused", () => {
  const e = finding(ALERT_IDP);
  assert.equal(e.user?.name, "svc-backup@corp.example");
  assert.equal(e.user?.domain, "CORP.EXAMPLE");
  assert.equal(e.src_endpoint?.ip, "198.51.100.23");
  assert.equal(e.dst_endpoint?.hostname, "dc01.corp.example");
  assert.equal(e.device, undefined);
  assert.equal(e.status, "In Progress");
  assert.equal(e.severity, "High", "severity 79 on the 0-100 scale");
  assert.equal(e.riposte.entity_key, "user:svc-backup@corp.example");
  const batch = { meta: { query_time: 0.1 }, resources: [ALERT_EPP, ALERT_IDP], errors: [] };
  assert.ok(crowdstrikeFalcon.detect(json(batch)));
  const out = outcomeOf(crowdstrikeFalcon, json(batch));
  assert.ok(out.kind === "rejected" && /2 alerts .* resources\[\]/.test(out.reason), JSON.stringify(out));
});

test("crowdstrike: AuthActivityAuditEvent sign-ins become OCSF Authentication (envelope and flattened)", () => {
  const ok = normalizeWith(crowdstrikeFalcon, json(ENVELOPE_SIGNIN));
  assert.equal(ok.class_uid, 3002);
  if (ok.class_uid !== 3002) return;
  assert.equal(ok.user.name, "analyst@corp.example");
  assert.equal(ok.user.email_addr, "analyst@corp.example");
  assert.equal(ok.src_endpoint?.ip, "203.0.113.10");
  assert.equal(ok.status, "Success");
  assert.equal(ok.is_mfa, false);
  assert.equal(ok.time, 1767272400000);
  assert.equal(ok.metadata.event_code, "userAuthenticate");
  assert.equal(ok.riposte.entity_key, "user:analyst@corp.example");

  const failed = normalizeWith(crowdstrikeFalcon, json(FLAT_2FA_FAILED));
  assert.ok(failed.class_uid === 3002);
  assert.equal(failed.status, "Failure");
  assert.equal(failed.is_mfa, true);
  assert.equal(failed.time, 1767272460000);
  assert.equal(failed.metadata.log_name, "AuthActivityAuditEvent");
});

test("crowdstrike: audit operations — user changes, role grants, API clients, allowlists, user activity — map by operation", () => {
  const get = (name: string) => normalizeWith(crowdstrikeFalcon, json(pantherRecord(streams, name)));
  const created = get("New User Created");
  assert.ok(created.class_uid === 3001);
  assert.equal(created.activity_name, "Create");
  assert.equal(created.user.name, "frodo.baggins@hobbiton.co", "the account created");
  assert.equal(created.actor?.user?.name, "bilbo.baggins@hobbiton.co", "the admin who created it");
  assert.equal(created.riposte.entity_key, "user:frodo.baggins@hobbiton.co");
  assert.equal(created.src_endpoint?.ip, "1.1.1.1");

  const failed = get("Unsuccessful User Deletion Attempt");
  assert.ok(failed.class_uid === 3001 && failed.activity_id === 6 && failed.status === "Failure");

  const roles = get("Admin Role Assigned (Multiple)");
  assert.ok(roles.class_uid === 3005);
  assert.equal(roles.activity_name, "Assign Role");
  assert.equal(roles.user.name, "merry.brandybuck@hobbiton.co");
  assert.equal(roles.user.uid, "e70e5306-4a83-4a9f-9b59-a78c304c438b");
  assert.deepEqual(roles.privileges, ["custom_non_admin_role", "billing_dashboard_admin", "falconhost_admin"]);
  assert.equal(roles.metadata.correlation_uid, "897d300ad09137b362ee6a62846a9277");

  const client = get("API Key Created");
  assert.ok(client.class_uid === 3004);
  assert.equal(client.activity_name, "Create");
  assert.deepEqual(client.entity, { uid: "aaa1a11aaa111a1a11a11aaaa1aa1a11", name: "key name", type: "API Client" });
  assert.equal(client.riposte.entity_key, "user:tester@panther.com", "no affected user: the actor");

  const allow = get("Enabled Allow List Deleted");
  assert.ok(allow.class_uid === 3004 && allow.activity_name === "Delete");
  assert.equal(allow.entity.name, "my_allow_list");
  assert.equal(allow.entity.type, "Allowlist Group");

  const password = get("Own Password Changed");
  assert.ok(password.class_uid === 3001 && password.activity_id === 3);

  const roleGrant = normalizeWith(crowdstrikeFalcon, json(ENVELOPE_ROLE_GRANT));
  assert.ok(roleGrant.class_uid === 3005, "grantUserRoles without a target: the actor's own roles");
  assert.equal(roleGrant.user.name, "analyst@corp.example");

  const activity = normalizeWith(crowdstrikeFalcon, json(ENVELOPE_USER_ACTIVITY));
  assert.ok(activity.class_uid === 6003);
  assert.equal(activity.activity_name, "Update");
  assert.equal(activity.api.operation, "detection_update");
  assert.equal(activity.api.service?.name, "detections");
  assert.equal(activity.actor.user?.name, "analyst@corp.example");
});

test("crowdstrike: other stream records and FDR telemetry are Base Events with their host and type", () => {
  const firewall = { ...ENVELOPE_SIGNIN, metadata: { ...ENVELOPE_SIGNIN.metadata, eventType: "FirewallMatchEvent" } };
  const fw = normalizeWith(crowdstrikeFalcon, json(firewall));
  assert.equal(fw.class_uid, 0);
  assert.equal(fw.metadata.event_code, "FirewallMatchEvent");
  assert.equal(fw.time, 1767272400000);
  assert.ok(crowdstrikeFalcon.detect(json(FDR_SENSOR)));
  const fdr = normalizeWith(crowdstrikeFalcon, json(FDR_SENSOR));
  assert.equal(fdr.class_uid, 0);
  assert.equal(fdr.metadata.event_code, "ProcessRollup2");
  assert.equal(fdr.metadata.product.name, "Falcon Data Replicator");
  assert.equal(fdr.device?.uid, FDR_SENSOR.aid);
});

test("crowdstrike: audit operation names → OCSF class and activity", () => {
  const cases: Record<string, readonly [number, string]> = {
    userAuthenticate: [3002, "Logon"],
    twoFactorAuthenticate: [3002, "Logon"],
    createUser: [3001, "Create"],
    deactivateUser: [3001, "Disable"],
    requestResetPassword: [3001, "Password Reset"],
    grantUserRoles: [3005, "Assign Role"],
    revokeUserRoles: [3005, "Remove Role"],
    UpdateAPIClient: [3004, "Update"],
    delete_policy: [3004, "Delete"],
    detection_update: [6003, "Update"],
    streamStarted: [6003, "Read"],
    somethingElse: [6003, "Other"],
  };
  for (const [op, [cls, name]] of Object.entries(cases))
    assert.deepEqual([auditActivity(op).class_uid, auditActivity(op).activity_name], [cls, name], op);
});
