import { test } from "node:test";
import assert from "node:assert/strict";
import { crowdstrikeFalcon } from "./crowdstrike-falcon.ts";
import {
  corpusEvents,
  corpusText,
  json,
  jsonObjects,
  normalizeWith,
  outcomeOf,
  pantherRecord,
  pantherRecords,
} from "./testing.ts";

const LEGACY = "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-detection-summary.log";
const EPP = "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-epp-detection-summary.excerpt.log";
const STREAMS = "crowdstrike/panther-analysis__Crowdstrike.EventStreams.jsonl";

const legacy = jsonObjects(corpusText(LEGACY));
const epp = corpusEvents(EPP);
const streams = pantherRecords(STREAMS);

const finding = (ev: Record<string, unknown>) => {
  const e = normalizeWith(crowdstrikeFalcon, json(ev));
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

test("crowdstrike: Panther event streams — EPP detections normalize, audit records are refused with a reason", () => {
  for (const r of streams) {
    const out = outcomeOf(crowdstrikeFalcon, json(r.log));
    const type = (r.log["metadata"] as Record<string, unknown>)["eventType"];
    if (type === "EppDetectionSummaryEvent") assert.equal(out.kind, "ok", `${r.name}: ${JSON.stringify(out)}`);
    else
      assert.ok(
        out.kind === "rejected" && out.reason.includes("AuthActivityAuditEvent"),
        `${r.name}: ${JSON.stringify(out)}`,
      );
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

test("crowdstrike: detect claims Falcon stream records only", () => {
  for (const ev of [...legacy, ...epp, ...streams.map((r) => r.log)]) assert.ok(crowdstrikeFalcon.detect(json(ev)));
  for (const other of [
    ...corpusEvents("microsoft_defender/elastic-integrations__m365_defender_alert__test-alert.log"),
    ...corpusEvents("suricata/elastic-integrations__suricata_eve__test-eve-small.log"),
    ...corpusEvents("okta/panther-analysis__Okta.SystemLog.jsonl"),
  ])
    assert.equal(crowdstrikeFalcon.detect(json(other)), false);
});

test("crowdstrike: a detection without its event body or ids is a clear error", () => {
  const meta = { customerIDString: "c", offset: 1, eventType: "EppDetectionSummaryEvent", eventCreationTime: 1 };
  assert.throws(() => crowdstrikeFalcon.normalize(json({ metadata: meta })), /without an event body/);
  assert.throws(
    () => crowdstrikeFalcon.normalize(json({ metadata: meta, event: { Name: "x" } })),
    /CompositeId\/DetectId/,
  );
});
