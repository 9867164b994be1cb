import { test } from "node:test";
import assert from "node:assert/strict";
import { guardduty } from "./guardduty.ts";
import { corpusEvents, json, normalizeWith, otherVendors } from "./testing.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";
import {
  GD_ASSUMED_ROLE,
  GD_EKS,
  GD_IAM_USER_KEY,
  GD_LAMBDA,
  GD_RDS,
  GD_S3_BUCKET,
  GD_S3_ONLY,
  GD_SEQUENCE,
} from "./fixtures/aws.ts";

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
    type: "Virtual",
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

test("guardduty: other EventBridge events and batches are refused, a word severity is read, malformed findings are clear errors, other vendors are not claimed", () => {
  const health = { "detail-type": "GuardDuty Runtime Protection Unhealthy", source: "aws.guardduty", detail: {} };
  assert.ok(guardduty.detect(json(health)));
  const r = guardduty.normalize(json(health));
  assert.ok("rejected" in r && /route only detail-type "GuardDuty Finding"/.test(r.reason));
  assert.equal(normalizeWith(guardduty, json({ ...instanceFinding, severity: "high" })).severity, "High");
  assert.equal(normalizeWith(guardduty, json({ ...instanceFinding, severity: undefined })).severity_id, 0);
  assert.throws(() => guardduty.normalize(json({ ...instanceFinding, id: "" })), /without id and type/);
  const batch = { findings: [instanceFinding, instanceFinding] };
  assert.ok(guardduty.detect(json(batch)));
  const b = guardduty.normalize(json(batch));
  assert.ok("rejected" in b && /batch of 2 GuardDuty findings/.test(b.reason));
  for (const other of otherVendors("aws_guardduty")) assert.equal(guardduty.detect(json(other)), false);
});

// Cloud findings without a host: shapes built field by field from the GuardDuty API Reference (see fixtures/aws.ts).

const gd = (f: object) => {
  const e = normalizeWith(guardduty, json(f as Record<string, unknown>));
  assert.ok(e.class_uid === 2004);
  return e;
};
const CLOUD = {
  provider: "AWS",
  region: "eu-west-1",
  cloud_partition: "aws",
  account: { uid: "111122223333", type: "AWS Account" },
};

test("guardduty: an IAM user's access key (AccessKeyDetails) is the user and actor: uid = access key id, type, account; cloud context", () => {
  const e = gd(GD_IAM_USER_KEY);
  const principal = {
    name: "ops-admin",
    uid: "AKIAIOSFODNN7EXAMPLE",
    uid_alt: "AIDACKCEVSQ6C2EXAMPLE",
    credential_uid: "AKIAIOSFODNN7EXAMPLE",
    type: "IAMUser",
    account: { uid: "111122223333", type: "AWS Account" },
  };
  assert.deepEqual(e.user, principal);
  assert.deepEqual(e.actor?.user, principal);
  assert.deepEqual(e.cloud, CLOUD);
  assert.equal(e.riposte.entity_key, "user:ops-admin");
  assert.deepEqual(e.src_endpoint, { ip: "198.51.100.9", location: { country: "RO", city: "Bucharest" } });
  assert.equal(e.dst_endpoint?.hostname, "s3.amazonaws.com");
  assert.ok(e.resources?.some((r) => r.type === "AWS::IAM::AccessKey" && r.uid === "AKIAIOSFODNN7EXAMPLE"));
  assert.equal(e.unmapped?.["user_agent"], "aws-cli/2.15.0");
  assert.equal(e.device, undefined);
});

test("guardduty: an assumed role's temporary key maps to the role session principal", () => {
  const e = gd(GD_ASSUMED_ROLE);
  assert.equal(e.user?.name, "deploy-role");
  assert.equal(e.user?.type, "AssumedRole");
  assert.equal(e.user?.uid, "ASIAIOSFODNN7EXAMPLE");
  assert.equal(e.user?.uid_alt, "AROADBQP57FF2AEXAMPLE:ci-session");
  assert.equal(e.riposte.entity_key, "user:deploy-role");
  assert.equal(e.severity, "High");
});

test("guardduty: S3 buckets (S3BucketDetails) are resources with owner, tags and exposure; a bucket alone is the entity", () => {
  const e = gd(GD_S3_BUCKET);
  const bucket = e.resources?.find((r) => r.type === "AWS::S3::Bucket");
  assert.deepEqual(bucket, {
    region: "eu-west-1",
    cloud_partition: "aws",
    type: "AWS::S3::Bucket",
    uid: "arn:aws:s3:::contoso-logs",
    name: "contoso-logs",
    owner: { uid: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be" },
    data: { role: "Destination", encryption: "AES256", effective_permission: "PUBLIC" },
    tags: [{ name: "env", value: "prod" }],
  });
  assert.equal(e.riposte.entity_key, "user:ops-admin", "the principal comes before the resource");
  const alone = gd(GD_S3_ONLY);
  assert.equal(alone.user, undefined);
  assert.equal(alone.riposte.entity_key, "resource:arn:aws:s3:::contoso-uploads");
  assert.ok(alone.observables?.some((o) => o.type_id === 10 && o.value === "arn:aws:s3:::contoso-uploads"));
});

test("guardduty: EKS findings map the Kubernetes user, the cluster and the workload; the API caller's IP", () => {
  const e = gd(GD_EKS);
  assert.deepEqual(e.user, {
    name: "system:serviceaccount:ci:deployer",
    uid: "6f8d2c1a-0000-4000-8000-000000000e01",
    type: "Kubernetes User",
  });
  assert.equal(e.riposte.entity_key, "user:system:serviceaccount:ci:deployer");
  assert.ok(
    e.resources?.some(
      (r) =>
        r.type === "AWS::EKS::Cluster" &&
        r.uid === "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eks" &&
        r.name === "prod-eks",
    ),
  );
  assert.ok(
    e.resources?.some((r) => r.type === "Kubernetes pods" && r.name === "debug-pod" && r["namespace"] === "default"),
  );
  assert.equal(e.src_endpoint?.ip, "203.0.113.50");
});

test("guardduty: a Lambda function (LambdaDetails) is the entity of a network finding; its execution role is kept", () => {
  const e = gd(GD_LAMBDA);
  const fn = e.resources?.find((r) => r.type === "AWS::Lambda::Function");
  assert.equal(fn?.uid, "arn:aws:lambda:eu-west-1:111122223333:function:image-resizer");
  assert.equal(fn?.name, "image-resizer");
  assert.deepEqual(fn?.["data"], { role: "arn:aws:iam::111122223333:role/image-resizer-exec", vpc_id: "vpc-0a1b2c3d" });
  assert.equal(e.dst_endpoint?.ip, "203.0.113.66");
  assert.equal(e.dst_endpoint?.port, 443);
  assert.equal(e.riposte.entity_key, "resource:arn:aws:lambda:eu-west-1:111122223333:function:image-resizer");
});

test("guardduty: an RDS login maps the database user and instance (RdsDbUserDetails, RdsDbInstanceDetails)", () => {
  const e = gd(GD_RDS);
  assert.deepEqual(e.user, { name: "app_rw", type: "Database User" });
  assert.equal(e.src_endpoint?.ip, "203.0.113.70");
  const db = e.resources?.find((r) => r.type === "AWS::RDS::DBInstance");
  assert.equal(db?.uid, "arn:aws:rds:eu-west-1:111122223333:db:orders-db");
  assert.equal(db?.name, "orders-db");
  assert.equal(e.riposte.entity_key, "user:app_rw");
});

test("guardduty: an attack sequence maps its actors and resources (Detection.Sequence); without them, the principal its text names", () => {
  const e = gd(GD_SEQUENCE);
  assert.equal(e.user?.name, "john_doe");
  assert.equal(e.user?.uid, "AKIAIOSFODNN7EXAMPLE");
  assert.equal(e.user?.uid_alt, "AIDACKCEVSQ6C2EXAMPLE");
  assert.ok(e.resources?.some((r) => r.uid === "arn:aws:s3:::contoso-finance" && r.type === "AWS::S3::Bucket"));
  const corpus = gd(findings()[0]!);
  assert.deepEqual(corpus.user, {
    name: "john_doe",
    uid: "AIDA3UBBJ2K3TVEXAMPLE",
    type: "IAMUser",
    account: { uid: "111122223333", type: "AWS Account" },
  });
  assert.equal(corpus.riposte.entity_key, "user:john_doe");
});

test("guardduty: every corpus finding has an entity from the event (principal or affected resource)", () => {
  for (const f of findings()) assert.doesNotMatch(gd(f).riposte.entity_key, /^source:/);
});
