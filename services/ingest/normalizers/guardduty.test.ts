import { test } from "node:test";
import assert from "node:assert/strict";
import { guardduty } from "./guardduty.ts";
import { corpusEvents, json, normalizeWith, otherVendors } from "./testing.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";

const FILE = "aws_guardduty/panther-analysis__AWS.GuardDuty.jsonl";
const findings = () => corpusEvents(FILE);
const title = (e: NormalizedEvent) => (e.class_uid === 2004 ? e.finding_info.title : undefined);

test("guardduty: every corpus finding is detected and normalizes; sample findings are kept and flagged", () => {
  const all = findings();
  assert.equal(all.length, 6);
  for (const ev of all) {
    assert.ok(guardduty.detect(json(ev)));
    const e = normalizeWith(guardduty, json(ev));
    assert.equal(e.class_uid, 2004);
    assert.equal(e.metadata.product.name, "GuardDuty");
    const sample = (ev["service"] as { additionalInfo?: { sample?: boolean } }).additionalInfo?.sample === true;
    assert.equal(e.unmapped?.["sample"], sample ? true : undefined);
  }
});

test("guardduty: the attack-sequence finding: critical, times, techniques from the description", () => {
  const e = normalizeWith(guardduty, json(findings()[0]!));
  assert.equal(title(e), "Potential credential compromise of IAMUser/john_doe indicated by a sequence of actions.");
  assert.equal(e.severity_id, 5);
  assert.equal(e.time, Date.parse("2025-02-25T20:40:06.721Z"));
  assert.equal(e.metadata.uid, "8c258d654378414b9bc26f61a93eb816");
  assert.equal(e.metadata.original_time, "2025-02-25 20:40:06.721");
  assert.ok(e.class_uid === 2004);
  assert.deepEqual(e.finding_info.types, ["AttackSequence:IAM/CompromisedCredentials"]);
  assert.equal(e.finding_info.first_seen_time, Date.parse("2025-02-25T20:40:06Z"));
  assert.deepEqual(
    e.finding_info.attacks?.map((a) => a.technique?.uid),
    ["T1562.008", "T1098.003", "T1078.004", "T1087.004", "T1098"],
  );
  assert.equal(e.resources?.[0]?.type, "AttackSequence");
});

test("guardduty: severities 8 / 1 / 5 map to High / Low / Medium; the API call maps tactic, endpoints and affected role", () => {
  const [, , high, low, medium] = findings().map((ev) => normalizeWith(guardduty, json(ev)));
  assert.equal(high?.severity_id, 4);
  assert.equal(low?.severity_id, 2);
  assert.equal(medium?.severity_id, 3);
  assert.ok(high?.class_uid === 2004);
  assert.equal(
    title(high),
    "Principal AssumedRole:IAMRole attempted to add a policy to themselves that is highly permissive.",
  );
  assert.equal(high.time, Date.parse("2020-02-14T18:12:22.316Z"));
  assert.deepEqual(high.finding_info.attacks, [{ tactic: { uid: "TA0004", name: "Privilege Escalation" } }]);
  assert.equal(high.src_endpoint?.hostname, "cloudformation.amazonaws.com");
  assert.equal(high.dst_endpoint?.hostname, "iam.amazonaws.com");
  assert.ok(
    high.resources?.some((r) => r.type === "AWS::IAM::Role" && r.uid === "arn:aws:iam::123456789012:role/IAMRole"),
  );
  assert.equal(high.unmapped?.["api"], "PutRolePolicy");
});

const instanceFinding = {
  schemaVersion: "2.0",
  accountId: "111122223333",
  region: "eu-west-1",
  partition: "aws",
  id: "11112222333344445555666677778888",
  arn: "arn:aws:guardduty:eu-west-1:111122223333:detector/d1/finding/11112222333344445555666677778888",
  type: "Recon:EC2/PortProbeUnprotectedPort",
  resource: {
    resourceType: "Instance",
    instanceDetails: {
      instanceId: "i-0123456789abcdef0",
      platform: "Linux",
      networkInterfaces: [{ privateDnsName: "ip-10-9-8-7.eu-west-1.compute.internal", privateIpAddress: "10.9.8.7" }],
    },
  },
  service: {
    serviceName: "guardduty",
    archived: true,
    action: {
      actionType: "PORT_PROBE",
      portProbeAction: {
        portProbeDetails: [{ localPortDetails: { port: 3389 }, remoteIpDetails: { ipAddressV4: "203.0.113.9" } }],
      },
    },
  },
  severity: 2,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T01:00:00.000Z",
  title: "Unprotected port on EC2 instance i-0123456789abcdef0 is being probed.",
};

test("guardduty: an instance finding in an EventBridge envelope: device, endpoints, status", () => {
  const envelope = {
    version: "0",
    "detail-type": "GuardDuty Finding",
    source: "aws.guardduty",
    detail: instanceFinding,
  };
  assert.ok(guardduty.detect(json(envelope)));
  const e = normalizeWith(guardduty, json(envelope));
  assert.deepEqual(e.device, {
    hostname: "ip-10-9-8-7.eu-west-1.compute.internal",
    ip: "10.9.8.7",
    uid: "i-0123456789abcdef0",
    os: { name: "Linux" },
  });
  assert.equal(e.riposte.entity_key, "host:ip-10-9-8-7.eu-west-1.compute.internal");
  assert.deepEqual(e.src_endpoint, { ip: "203.0.113.9" });
  assert.deepEqual(e.dst_endpoint, { ip: "10.9.8.7", port: 3389 });
  assert.equal(e.status_id, 5);
  assert.equal(e.time, Date.parse("2026-01-01T01:00:00.000Z"));
  assert.ok(e.class_uid === 2004 && e.finding_info.attacks?.[0]?.tactic?.uid === "TA0043");

  const pascal = normalizeWith(
    guardduty,
    json({
      SchemaVersion: "2.0",
      Id: "x1",
      Arn: instanceFinding.arn,
      Type: "Recon:EC2/PortProbeUnprotectedPort",
      Severity: 2,
      UpdatedAt: "2026-01-01T01:00:00Z",
    }),
  );
  assert.equal(pascal.metadata.uid, "x1");
});

test("guardduty: other EventBridge events are refused, malformed findings are clear errors, other vendors are not claimed", () => {
  const health = { "detail-type": "GuardDuty Runtime Protection Unhealthy", source: "aws.guardduty", detail: {} };
  assert.ok(guardduty.detect(json(health)));
  const r = guardduty.normalize(json(health));
  assert.ok("rejected" in r && /route only detail-type "GuardDuty Finding"/.test(r.reason));
  assert.throws(() => guardduty.normalize(json({ ...instanceFinding, severity: "high" })), /numeric severity/);
  assert.throws(
    () => guardduty.normalize(json({ ...instanceFinding, updatedAt: "later", createdAt: undefined })),
    /is not a time/,
  );
  for (const other of otherVendors("aws_guardduty")) assert.equal(guardduty.detect(json(other)), false);
});
