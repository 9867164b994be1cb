import { test } from "node:test";
import assert from "node:assert/strict";
import { securityhub } from "./securityhub.ts";
import { corpusEvents, json, normalizeWith, otherVendors } from "./testing.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { ASFF_ACCESS_KEY, ASFF_EKS, ASFF_IAM_ROLE, ASFF_IAM_USER, ASFF_LAMBDA, ASFF_S3 } from "./fixtures/aws.ts";

const FILE =
  "aws_securityhub_asff/elastic-integrations__aws_securityhub_findings__test-securityhub-findings.excerpt.log";
const findings = () => corpusEvents(FILE);
const finding = (e: NormalizedEvent) => {
  assert.ok(e.class_uid === 2004);
  return e;
};

test("securityhub: every corpus finding is detected and normalizes", () => {
  const all = findings();
  assert.equal(all.length, 3);
  for (const ev of all) {
    assert.ok(securityhub.detect(json(ev)));
    assert.equal(normalizeWith(securityhub, json(ev)).class_uid, 2004);
  }
});

test("securityhub: AWS's full example: severity, time, endpoints, EC2 device, process, files, remediation", () => {
  const e = finding(normalizeWith(securityhub, json(findings()[0]!)));
  if (e.class_uid !== 2004) return;
  assert.equal(e.finding_info.title, "EC2.20 Both VPN tunnels for an AWS Site-to-Site VPN connection should be up");
  assert.equal(e.finding_info.uid, "us-west-2/111111111111/98aebb2207407c87f51e89943f12b1ef");
  assert.equal(e.severity_id, 5);
  assert.equal(e.time, Date.parse("2018-08-31T00:15:09Z"));
  assert.equal(e.finding_info.first_seen_time, Date.parse("2017-03-22T13:22:13.933Z"));
  assert.equal(e.status_id, 1);
  assert.deepEqual(e.src_endpoint, { hostname: "example1.com", ip: "1.128.0.0", port: 42, mac: "00:0d:83:b1:c0:8e" });
  assert.deepEqual(e.dst_endpoint, { hostname: "example2.com", ip: "1.128.0.0", port: 80 });
  assert.deepEqual(e.device, { uid: "i-cafebabe", ip: "175.16.199.1" });
  assert.equal(e.riposte.entity_key, "ip:1.128.0.0");
  assert.equal(e.confidence_score, 42);
  assert.equal(e.remediation?.desc, "Run sudo yum update and cross your fingers and toes.");
  assert.equal(e.evidences?.[0]?.process?.name, "syslogd");
  assert.ok(e.evidences?.some((ev) => ev.file?.path === "/usr/sbin/stringler"));
  assert.ok(
    e.observables?.some((o) => o.name === "threat_intel_indicator" && o.type_id === 2 && o.value === "175.16.199.1"),
  );
  assert.deepEqual(e.unmapped?.["vulnerabilities"], ["CVE-2020-12345"]);
  assert.equal(e.unmapped?.["sample"], true);
  assert.equal(e.metadata.product.name, "Security Hub");
  assert.equal(e.metadata.event_code, "acme-vuln-9ab348");

  const hashIoc = normalizeWith(securityhub, json(findings()[1]!));
  assert.ok(hashIoc.observables?.some((o) => o.type_id === 8 && o.value === "ae2b1fca515949e5d54fb22b8ed95575"));
});

test("securityhub: the FSBP control finding: high, archived, control id", () => {
  const e = finding(normalizeWith(securityhub, json(findings()[2]!)));
  if (e.class_uid !== 2004) return;
  assert.equal(e.finding_info.title, "EC2.8 EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)");
  assert.equal(e.severity_id, 4);
  assert.equal(e.time, Date.parse("2022-06-17T08:43:26.731Z"));
  assert.equal(e.status_id, 5);
  assert.equal(e.status, "Archived");
  assert.equal(e.metadata.event_code, "EC2.8");
  assert.equal(e.finding_info.analytic?.uid, "EC2.8");
  assert.equal(e.unmapped?.["compliance_status"], "FAILED");
  assert.deepEqual(e.resources, [{ uid: "xxx", type: "AwsEc2Instance", region: "us-east-1", cloud_partition: "aws" }]);
  assert.equal(e.riposte.entity_key, "resource:xxx", "no host, user or IP: the affected resource");
  assert.equal(e.src_endpoint, undefined);
});

const minimal = {
  SchemaVersion: "2018-10-08",
  Id: "arn:aws:guardduty:eu-west-1:111122223333:detector/d1/finding/f1",
  ProductArn: "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
  GeneratorId: "arn:aws:guardduty:eu-west-1:111122223333:detector/d1",
  AwsAccountId: "111122223333",
  Types: ["TTPs/Initial Access/UnauthorizedAccess:IAMUser-ConsoleLoginSuccess.B"],
  UpdatedAt: "2026-02-03T04:05:06.789Z",
  Severity: { Normalized: 50 },
  Title: "Unusual console login seen from principal ops-admin.",
  Resources: [
    {
      Type: "AwsIamAccessKey",
      Id: "AKIAIOSFODNN7EXAMPLE",
      Details: { AwsIamAccessKey: { PrincipalName: "ops-admin" } },
    },
  ],
  Workflow: { Status: "NOTIFIED" },
};

test("securityhub: normalized severity, TTP tactic, IAM principal, workflow status", () => {
  const e = finding(normalizeWith(securityhub, json(minimal)));
  if (e.class_uid !== 2004) return;
  assert.equal(e.severity_id, 3);
  assert.deepEqual(e.finding_info.attacks, [{ tactic: { uid: "TA0001", name: "Initial Access" } }]);
  assert.equal(e.user?.name, "ops-admin");
  assert.equal(e.riposte.entity_key, "user:ops-admin");
  assert.equal(e.status, "In Progress");
});

test("securityhub: batches are refused, malformed findings are clear errors, other vendors are not claimed", () => {
  const envelope = {
    "detail-type": "Security Hub Findings - Imported",
    source: "aws.securityhub",
    detail: { findings: [minimal, minimal] },
  };
  assert.ok(securityhub.detect(json(envelope)));
  const r = securityhub.normalize(json(envelope));
  assert.ok("rejected" in r && /batch of 2 Security Hub findings/.test(r.reason));
  const listed = securityhub.normalize(json({ Findings: [minimal] }));
  assert.ok("rejected" in listed && /Findings\[\]/.test(listed.reason));
  assert.throws(() => securityhub.normalize(json({ ...minimal, Title: "" })), /without Id and Title/);
  for (const other of otherVendors("aws_securityhub_asff")) assert.equal(securityhub.detect(json(other)), false);
});

// Cloud principals and resources: shapes built field by field from the Security Hub API Reference (ASFF resource
// details) and the Security Hub controls reference; see fixtures/aws.ts.

const sh = (f: object) => finding(normalizeWith(securityhub, json(f as Record<string, unknown>)));
const ACCOUNT = { uid: "111122223333", type: "AWS Account" };

test("securityhub: an AwsIamAccessKey (GuardDuty via Security Hub) is the acting principal; cloud account and region", () => {
  const e = sh(ASFF_ACCESS_KEY);
  const principal = {
    name: "ops-admin",
    uid: "AKIAIOSFODNN7EXAMPLE",
    uid_alt: "AIDACKCEVSQ6C2EXAMPLE",
    credential_uid: "AKIAIOSFODNN7EXAMPLE",
    type: "IAMUser",
    account: ACCOUNT,
  };
  assert.deepEqual(e.user, principal);
  assert.deepEqual(e.actor?.user, principal);
  assert.deepEqual(e.cloud, {
    provider: "AWS",
    region: "eu-west-1",
    cloud_partition: "aws",
    account: { uid: "111122223333", name: "prod", type: "AWS Account" },
  });
  assert.equal(e.src_endpoint?.ip, "198.51.100.9");
  assert.equal(e.riposte.entity_key, "user:ops-admin");
});

test("securityhub: AwsIamUser and AwsIamRole findings name the principal (uid = ARN) without making it the actor", () => {
  const u = sh(ASFF_IAM_USER);
  assert.deepEqual(u.user, {
    name: "legacy-etl",
    uid: "arn:aws:iam::111122223333:user/legacy-etl",
    uid_alt: "AIDAJQABLZS4A3QDU576Q",
    type: "IAMUser",
    account: ACCOUNT,
  });
  assert.equal(u.actor, undefined);
  assert.equal(u.riposte.entity_key, "user:legacy-etl");
  assert.equal(u.resources?.[0]?.name, "legacy-etl");
  const r = sh(ASFF_IAM_ROLE);
  assert.equal(r.user?.name, "ci-admin");
  assert.equal(r.user?.uid, "arn:aws:iam::111122223333:role/ci-admin");
  assert.equal(r.user?.type, "Role");
  assert.equal(r.riposte.entity_key, "user:ci-admin");
});

test("securityhub: S3 buckets, EKS clusters and Lambda functions are resources with their details; the resource is the entity", () => {
  const s3 = sh(ASFF_S3);
  assert.deepEqual(s3.resources, [
    {
      uid: "arn:aws:s3:::contoso-public-assets",
      name: "contoso-public-assets",
      type: "AwsS3Bucket",
      region: "eu-west-1",
      cloud_partition: "aws",
      owner: {
        uid: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
        name: "contoso-prod",
        account: ACCOUNT,
      },
      tags: [{ name: "env", value: "prod" }],
    },
  ]);
  assert.equal(s3.riposte.entity_key, "resource:arn:aws:s3:::contoso-public-assets");
  const eks = sh(ASFF_EKS);
  assert.equal(eks.resources?.[0]?.name, "prod-eks");
  assert.deepEqual(eks.resources?.[0]?.["data"], {
    role: "arn:aws:iam::111122223333:role/eks-cluster",
    status: "ACTIVE",
    version: "1.29",
    endpoint: "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
  });
  assert.equal(eks.riposte.entity_key, "resource:arn:aws:eks:eu-west-1:111122223333:cluster/prod-eks");
  const fn = sh(ASFF_LAMBDA);
  assert.equal(fn.resources?.[0]?.name, "image-resizer");
  assert.equal((fn.resources?.[0]?.["data"] as { runtime?: string }).runtime, "python3.7");
  assert.equal(fn.riposte.entity_key, "resource:arn:aws:lambda:eu-west-1:111122223333:function:image-resizer");
  assert.equal(fn.cloud?.account?.uid, "111122223333");
});
