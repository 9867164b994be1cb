/** AWS Security Hub findings in the AWS Security Finding Format (ASFF), one finding per event. */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, baseName, compact, get, hashOf, ip, num, obj, port, severityFromTen, str } from "./util.ts";
import { awsTactic } from "./mitre-util.ts";
import { eventTime } from "./finalize.ts";
import { arnParts, awsCloud, awsPrincipal, awsResource, type OcsfResource, type OcsfUser } from "./aws-util.ts";

const SEVERITY_BY_LABEL: Record<string, number> = { INFORMATIONAL: 1, LOW: 2, MEDIUM: 3, HIGH: 4, CRITICAL: 5 };

const STATUS: Record<string, readonly [number, string]> = {
  NEW: [1, "New"],
  NOTIFIED: [2, "In Progress"],
  SUPPRESSED: [3, "Suppressed"],
  RESOLVED: [4, "Resolved"],
};

const isFinding = (v: Obj) =>
  v["SchemaVersion"] === "2018-10-08" &&
  typeof v["Id"] === "string" &&
  typeof v["ProductArn"] === "string" &&
  Array.isArray(v["Resources"]);

/** `{"Findings": [...]}` (GetFindings) or the EventBridge "Security Hub Findings - ..." envelope: batches, not one event. */
const isBatch = (v: Obj) =>
  (typeof v["detail-type"] === "string" && v["detail-type"].startsWith("Security Hub Findings")) ||
  (Array.isArray(v["Findings"]) && v["Findings"].length > 0 && isFinding((v["Findings"][0] ?? {}) as Obj));

function severityOf(f: Obj): number {
  const label = str(f, "Severity.Label") ?? str(f, "FindingProviderFields.Severity.Label");
  if (label && label.toUpperCase() in SEVERITY_BY_LABEL) return SEVERITY_BY_LABEL[label.toUpperCase()] ?? 0;
  const normalized = num(f, "Severity.Normalized");
  return normalized === undefined ? 0 : normalized === 0 ? 1 : severityFromTen(normalized / 10);
}

/** The EC2 instance among the resources (Details.AwsEc2Instance, or flat Details as in AWS's own example). */
function deviceOf(resources: Obj[]) {
  const ec2 = resources.find((r) => r["Type"] === "AwsEc2Instance");
  if (!ec2) return {};
  const d = obj(ec2, "Details.AwsEc2Instance") ?? obj(ec2, "Details");
  const id = str(ec2, "Id");
  return compact({
    uid: id?.startsWith("arn:") ? id.split("/").pop() : id,
    ip: ip(arr(d, "IpV4Addresses")[0]) ?? ip(arr(d, "IpV6Addresses")[0]),
  });
}

const isArn = (s: string | undefined) => (s?.startsWith("arn:") ? s : undefined);
/** The access key id in a resource Id (`AKIA...`, or GuardDuty's `AWS::IAM::AccessKey:AKIA...`). */
const accessKeyIn = (s: string | undefined) => (s ? /\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/.exec(s)?.[0] : undefined);

/**
 * The IAM principal among the resources (ASFF AwsIamAccessKey, AwsIamUser, AwsIamRole resource details), in that
 * order, and whether it is the one that acted (an access key was used).
 */
function principalOf(resources: Obj[], account: string | undefined): { user?: OcsfUser; acted: boolean } {
  const of = (type: string) => resources.find((r) => r["Type"] === type);
  const key = of("AwsIamAccessKey");
  if (key) {
    const d = obj(key, "Details.AwsIamAccessKey");
    const user = awsPrincipal({
      name: str(d, "PrincipalName") ?? str(d, "UserName") ?? str(d, "SessionContext.SessionIssuer.UserName"),
      arn: isArn(str(key, "Id")),
      accessKeyId: str(d, "AccessKeyId") ?? accessKeyIn(str(key, "Id")),
      principalId: str(d, "PrincipalId"),
      type: str(d, "PrincipalType"),
      account: str(d, "AccountId") ?? account,
    });
    if (user) return { user, acted: true };
  }
  const iamUser = of("AwsIamUser");
  if (iamUser) {
    const d = obj(iamUser, "Details.AwsIamUser");
    const user = awsPrincipal({
      name: str(d, "UserName"),
      arn: isArn(str(iamUser, "Id")),
      principalId: str(d, "UserId"),
      type: "IAMUser",
      account,
    });
    if (user) return { user, acted: false };
  }
  const role = of("AwsIamRole");
  if (role) {
    const d = obj(role, "Details.AwsIamRole");
    const user = awsPrincipal({
      name: str(d, "RoleName") ?? arnParts(str(role, "Id"))?.resource.split("/").pop(),
      arn: isArn(str(role, "Id")),
      principalId: str(d, "RoleId"),
      type: "Role",
      account,
    });
    if (user) return { user, acted: false };
  }
  return { acted: false };
}

/** The name ASFF gives a resource in its details (bucket, cluster, function, role, user, instance, ...). */
function resourceName(r: Obj): string | undefined {
  const type = str(r, "Type") ?? "";
  const d = obj(r, `Details.${type}`);
  return (
    str(d, "Name") ??
    str(d, "FunctionName") ??
    str(d, "RoleName") ??
    str(d, "UserName") ??
    str(d, "PrincipalName") ??
    str(d, "DBInstanceIdentifier") ??
    str(d, "ClusterName") ??
    str(d, "TableName")
  );
}

/** ASFF Resources[] as OCSF resources (uid = the resource Id, usually its ARN) with what their details name. */
function resourcesOf(resources: Obj[]): OcsfResource[] {
  return resources.map((r) => {
    const type = str(r, "Type") ?? "";
    const d = obj(r, `Details.${type}`);
    const owner = compact({
      uid: str(d, "OwnerId"),
      name: str(d, "OwnerName"),
      account: str(d, "OwnerAccountId") ? { uid: str(d, "OwnerAccountId"), type: "AWS Account" } : undefined,
    });
    return awsResource(
      compact({
        uid: str(r, "Id"),
        name: resourceName(r),
        type: type || undefined,
        region: str(r, "Region"),
        cloud_partition: str(r, "Partition"),
        ...(Object.keys(owner).length > 0 ? { owner } : {}),
        data: compact({
          resource_role: str(r, "ResourceRole"),
          role: str(d, "Role") ?? str(d, "RoleArn"),
          runtime: str(d, "Runtime"),
          status: str(d, "ClusterStatus") ?? str(d, "Status"),
          version: str(d, "Version"),
          endpoint: str(d, "Endpoint"),
        }),
      }),
      get(r, "Tags"),
    );
  });
}

function endpointsOf(f: Obj) {
  const n = obj(f, "Network");
  const remote =
    ip(get(f, "Action.NetworkConnectionAction.RemoteIpDetails.IpAddressV4")) ??
    ip(get(f, "Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4"));
  const src = compact({
    ip: ip(get(n, "SourceIpV4")) ?? ip(get(n, "SourceIpV6")) ?? remote,
    port: port(get(n, "SourcePort")),
    hostname: str(n, "SourceDomain"),
    mac: str(n, "SourceMac"),
  });
  const dst = compact({
    ip: ip(get(n, "DestinationIpV4")) ?? ip(get(n, "DestinationIpV6")),
    port: port(get(n, "DestinationPort")),
    hostname: str(n, "DestinationDomain"),
  });
  return { src, dst };
}

function evidencesOf(f: Obj, src: object, dst: object): Array<Record<string, unknown>> {
  const p = obj(f, "Process");
  const process = compact({
    name: str(p, "Name"),
    pid: num(p, "Pid"),
    file: compact({ path: str(p, "Path"), name: baseName(str(p, "Path")) }),
  });
  const files = [
    ...arr(f, "Malware").map((m) => compact({ path: str(m, "Path"), name: baseName(str(m, "Path")) })),
    ...arr(f, "Threats").flatMap((t) =>
      arr(t, "FilePaths").map((fp) =>
        compact({
          path: str(fp, "FilePath"),
          name: str(fp, "FileName"),
          hashes: [hashOf(get(fp, "Hash"))].filter((h) => h !== undefined),
        }),
      ),
    ),
  ].filter((x) => Object.keys(x).length > 0);
  const first = compact({ src_endpoint: src, dst_endpoint: dst, process });
  return [first, ...files.slice(0, 10).map((file) => ({ file }))].filter((e) => Object.keys(e).length > 0);
}

/** Threat-intel indicators as observables (IPs, domains, URLs, hashes, emails). */
function indicatorsOf(f: Obj) {
  const types: Record<string, number> = {
    IPV4_ADDRESS: 2,
    IPV6_ADDRESS: 2,
    DOMAIN: 1,
    URL: 6,
    EMAIL_ADDRESS: 5,
    HASH_MD5: 8,
    HASH_SHA1: 8,
    HASH_SHA256: 8,
    HASH_SHA512: 8,
  };
  return arr(f, "ThreatIntelIndicators").flatMap((t) => {
    const type_id = types[str(t, "Type") ?? ""];
    const value = str(t, "Value");
    return type_id !== undefined && value ? [{ name: "threat_intel_indicator", type_id, value }] : [];
  });
}

function normalizeFinding(f: Obj): Draft {
  const id = str(f, "Id");
  const title = str(f, "Title");
  if (!id || !title) throw new Error("ASFF finding without Id and Title");
  const timeStr = str(f, "UpdatedAt") ?? str(f, "CreatedAt");
  const t = eventTime(f["UpdatedAt"], f["CreatedAt"]);
  const resources = arr(f, "Resources").filter((r): r is Obj => r !== null && typeof r === "object");
  const account = str(f, "AwsAccountId");
  const principal = principalOf(resources, account);
  const types = arr(f, "Types").length ? arr(f, "Types") : arr(f, "FindingProviderFields.Types");
  const typeStrings = types.filter((x): x is string => typeof x === "string");
  const attacks = typeStrings
    .filter((x) => x.startsWith("TTPs/"))
    .map((x) => awsTactic(x.split("/")[1]))
    .filter((x) => x !== undefined)
    .map((tactic) => ({ tactic }));
  const archived = str(f, "RecordState") === "ARCHIVED";
  const [statusId, status] = archived
    ? [5, "Archived"]
    : (STATUS[str(f, "Workflow.Status") ?? str(f, "WorkflowState") ?? "NEW"] ?? [99, "Other"]);
  const controlId = str(f, "ProductFields.ControlId") ?? str(f, "Compliance.SecurityControlId");
  const { src, dst } = endpointsOf(f);
  const productName = str(f, "ProductName") ?? str(f, "ProductFields.aws/securityhub/ProductName") ?? "Security Hub";
  const draft: Draft = {
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: t,
    severity_id: severityOf(f),
    status_id: statusId,
    status,
    message: title,
    is_alert: true,
    finding_info: compact({
      uid: id,
      title,
      desc: str(f, "Description"),
      types: typeStrings,
      analytic: compact({
        uid: controlId ?? str(f, "GeneratorId"),
        name: controlId ?? str(f, "GeneratorId"),
        type_id: 1,
        type: "Rule",
      }),
      attacks: [...new Map(attacks.map((a) => [a.tactic.uid, a])).values()],
      created_time: eventTime(get(f, "CreatedAt")),
      first_seen_time: eventTime(get(f, "FirstObservedAt")),
      last_seen_time: eventTime(get(f, "LastObservedAt")),
      src_url: str(f, "SourceUrl"),
      product_uid: str(f, "ProductArn"),
    }),
    confidence_score: num(f, "Confidence"),
    device: deviceOf(resources),
    ...(principal.user ? { user: principal.user } : {}),
    ...(principal.user && principal.acted ? { actor: { user: principal.user } } : {}),
    src_endpoint: src,
    dst_endpoint: dst,
    resources: resourcesOf(resources),
    cloud: awsCloud({
      account,
      accountName: str(f, "AwsAccountName"),
      region: str(f, "Region") ?? str(resources[0], "Region"),
      partition: str(resources[0], "Partition"),
    }),
    evidences: evidencesOf(f, src, dst),
    observables: indicatorsOf(f),
    ...(str(f, "Remediation.Recommendation.Text")
      ? { remediation: { desc: str(f, "Remediation.Recommendation.Text") as string } }
      : {}),
    metadata: compact({
      product: { vendor_name: str(f, "CompanyName") ?? "AWS", name: productName },
      uid: id,
      original_time: timeStr,
      log_name: "securityhub",
      event_code: controlId ?? str(f, "GeneratorId"),
    }),
    unmapped: compact({
      account_id: account,
      account_name: str(f, "AwsAccountName"),
      region: str(f, "Region"),
      generator_id: str(f, "GeneratorId"),
      compliance_status: str(f, "Compliance.Status"),
      record_state: str(f, "RecordState"),
      verification_state: str(f, "VerificationState"),
      severity_original: str(f, "Severity.Original"),
      criticality: num(f, "Criticality"),
      vulnerabilities: arr(f, "Vulnerabilities")
        .map((v) => str(v, "Id"))
        .filter((x) => x !== undefined),
      sample: get(f, "Sample") === true ? true : undefined,
    }),
  };
  return compact(draft);
}

/** Single ASFF findings; batches (EventBridge envelope, `{"Findings": [...]}`) are refused with instructions to split. */
export const securityhub: Normalizer = {
  format: "aws_securityhub",
  aliases: ["securityhub", "asff"],
  detect: (e: RawEvent) => e.kind === "json" && (isFinding(e.value) || isBatch(e.value)),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("ASFF findings are JSON");
    const v = e.value;
    if (isBatch(v)) {
      const n = arr(v, "detail.findings").length || arr(v, "Findings").length;
      return reject(
        `a batch of ${n} Security Hub findings is not one event: send each finding of detail.findings (EventBridge) or Findings[] (GetFindings) as its own event`,
      );
    }
    return normalizeFinding(v);
  },
};
