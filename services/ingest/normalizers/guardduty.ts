/** Amazon GuardDuty findings: the finding JSON, or an EventBridge "GuardDuty Finding" event (finding in `detail`). */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, baseName, compact, get, hashOf, ip, num, obj, port, severityFromTen, str, time } from "./util.ts";
import { awsTactic } from "./mitre-util.ts";

type Ep = { ip?: string | undefined; port?: number | undefined; hostname?: string | undefined };

const GUARDDUTY_ARN = /^arn:aws[a-z-]*:guardduty:/;

/** A bare finding, camelCase (service JSON, EventBridge) or PascalCase (AWS SDK / CLI). */
function isFinding(f: Obj): boolean {
  const arn = f["arn"] ?? f["Arn"];
  return (
    typeof arn === "string" &&
    GUARDDUTY_ARN.test(arn) &&
    typeof (f["type"] ?? f["Type"]) === "string" &&
    (f["schemaVersion"] ?? f["SchemaVersion"]) !== undefined
  );
}

/** A copy with every object key's first letter lower-cased (AWS SDK PascalCase → the camelCase of the service JSON). */
function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k.charAt(0).toLowerCase() + k.slice(1),
      camelKeys(x),
    ]),
  );
}

const isEnvelope = (v: Obj) =>
  v["detail-type"] === "GuardDuty Finding" || (v["source"] === "aws.guardduty" && "detail" in v);

const remoteIp = (o: unknown) => ip(get(o, "ipAddressV4")) ?? ip(get(o, "ipAddressV6"));

/** Source and destination of the finding's action; `local` is the affected instance's address. */
function endpointsOf(
  action: Obj | undefined,
  local: string | undefined,
): { src: Ep; dst: Ep; domain?: string | undefined } {
  switch (str(action, "actionType")) {
    case "NETWORK_CONNECTION": {
      const a = obj(action, "networkConnectionAction");
      const remote = { ip: remoteIp(get(a, "remoteIpDetails")), port: port(get(a, "remotePortDetails.port")) };
      const mine = {
        ip: ip(get(a, "localIpDetails.ipAddressV4")) ?? local,
        port: port(get(a, "localPortDetails.port")),
      };
      return str(a, "connectionDirection") === "INBOUND" ? { src: remote, dst: mine } : { src: mine, dst: remote };
    }
    case "PORT_PROBE": {
      const d = arr(action, "portProbeAction.portProbeDetails")[0];
      return {
        src: { ip: remoteIp(get(d, "remoteIpDetails")) },
        dst: { ip: ip(get(d, "localIpDetails.ipAddressV4")) ?? local, port: port(get(d, "localPortDetails.port")) },
      };
    }
    case "DNS_REQUEST":
      return { src: { ip: local }, dst: {}, domain: str(action, "dnsRequestAction.domain") };
    case "AWS_API_CALL": {
      const a = obj(action, "awsApiCallAction");
      return {
        src: { ip: remoteIp(get(a, "remoteIpDetails")), hostname: str(a, "domainDetails.domain") },
        dst: { hostname: str(a, "serviceName") },
      };
    }
    case "KUBERNETES_API_CALL": {
      const a = obj(action, "kubernetesApiCallAction");
      return { src: { ip: remoteIp(get(a, "remoteIpDetails")) ?? ip(arr(a, "sourceIps")[0]) }, dst: {} };
    }
    case "RDS_LOGIN_ATTEMPT":
      return { src: { ip: remoteIp(get(action, "rdsLoginAttemptAction.remoteIpDetails")) }, dst: {} };
    default:
      return { src: {}, dst: {} };
  }
}

/** The affected resources: OCSF resources entries plus the device and user they imply. */
function resourceOf(f: Obj) {
  const r = obj(f, "resource");
  const type = str(r, "resourceType");
  const inst = obj(r, "instanceDetails");
  const nic0 = arr(inst, "networkInterfaces")[0];
  const ak = obj(r, "accessKeyDetails");
  const k8sUser = obj(r, "kubernetesDetails.kubernetesUserDetails");
  const ids: Array<[string | undefined, string | undefined]> = [
    [str(inst, "instanceId"), undefined],
    [str(ak, "accessKeyId"), str(ak, "userName")],
    ...arr(r, "s3BucketDetails").map((b): [string | undefined, string | undefined] => [str(b, "arn"), str(b, "name")]),
    [str(r, "eksClusterDetails.arn"), str(r, "eksClusterDetails.name")],
    [str(r, "rdsDbInstanceDetails.dbInstanceArn"), str(r, "rdsDbInstanceDetails.dbInstanceIdentifier")],
    [str(r, "lambdaDetails.functionArn"), str(r, "lambdaDetails.functionName")],
    [str(r, "ecsClusterDetails.arn"), str(r, "ecsClusterDetails.name")],
  ];
  const common = { type, region: str(f, "region"), cloud_partition: str(f, "partition") };
  const resources = ids.filter(([uid, name]) => uid ?? name).map(([uid, name]) => compact({ ...common, uid, name }));
  const device = compact({
    hostname: str(nic0, "privateDnsName"),
    ip: ip(get(nic0, "privateIpAddress")),
    uid: str(inst, "instanceId"),
    os: compact({ name: str(inst, "platform") }),
  });
  const user = compact({
    name: str(ak, "userName") ?? str(k8sUser, "username") ?? str(r, "rdsDbUserDetails.user"),
    uid: str(ak, "principalId") ?? str(k8sUser, "uid"),
    type: str(ak, "userType"),
  });
  const affected = Object.entries(obj(f, "service.action.awsApiCallAction.affectedResources") ?? {})
    .filter((kv): kv is [string, string] => typeof kv[1] === "string")
    .map(([t, uid]) => compact({ ...common, type: t, uid }));
  const all = [...resources, ...affected];
  return { resources: all.length || !r ? all : [compact(common)], device, user };
}

/** ATT&CK: the tactic named by the finding type's threat purpose, and techniques an attack sequence lists. */
function attacksOf(f: Obj, type: string) {
  const tactic = awsTactic(type.split(":")[0]);
  const techniques = [...(str(f, "description") ?? "").matchAll(/\b(T\d{4}(?:\.\d{3})?) - ([^\n,]+)/g)].map((m) => ({
    uid: m[1],
    name: m[2]?.trim(),
  }));
  if (techniques.length === 0) return tactic ? [{ tactic }] : [];
  return techniques.map((technique) => compact({ technique, tactic }));
}

function normalizeFinding(f: Obj): Draft {
  const id = str(f, "id");
  const type = str(f, "type");
  if (!id || !type) throw new Error("GuardDuty finding without id and type");
  const timeStr = str(f, "updatedAt") ?? str(f, "createdAt");
  const t = time(timeStr);
  if (t === undefined) throw new Error(`GuardDuty updatedAt/createdAt ${JSON.stringify(timeStr)} is not a time`);
  const severity = num(f, "severity");
  if (severity === undefined) throw new Error("GuardDuty finding without a numeric severity");
  const service = obj(f, "service");
  const action = obj(service, "action");
  const { resources, device, user } = resourceOf(f);
  const { src, dst, domain } = endpointsOf(action, device.ip);
  const proc = obj(service, "runtimeDetails.process");
  const process = compact({
    name: str(proc, "name"),
    pid: num(proc, "pid"),
    file: compact({
      path: str(proc, "executablePath"),
      name: baseName(str(proc, "executablePath")),
      hashes: [hashOf(get(proc, "executableSha256"))].filter((h) => h !== undefined),
    }),
  });
  const malwareFiles = arr(service, "ebsVolumeScanDetails.scanDetections.threatDetectedByName.threatNames")
    .flatMap((tn) => arr(tn, "filePaths"))
    .slice(0, 10)
    .map((fp) => ({
      file: compact({
        name: str(fp, "fileName") ?? baseName(str(fp, "filePath")),
        path: str(fp, "filePath"),
        hashes: [hashOf(get(fp, "hash"))].filter((h) => h !== undefined),
      }),
    }));
  const sample = get(service, "additionalInfo.sample") === true;
  const archived = get(service, "archived") === true;
  const draft: Draft = {
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: t,
    severity_id: severityFromTen(severity),
    status_id: archived ? 5 : 1,
    status: archived ? "Archived" : "New",
    message: str(f, "title") ?? type,
    is_alert: true,
    finding_info: compact({
      uid: id,
      title: str(f, "title") ?? type,
      desc: str(f, "description"),
      types: [type],
      analytic: compact({ uid: type, name: type, type_id: 1, type: "Rule", category: str(service, "featureName") }),
      attacks: attacksOf(f, type),
      created_time: time(get(f, "createdAt")),
      first_seen_time: time(get(service, "eventFirstSeen")),
      last_seen_time: time(get(service, "eventLastSeen")),
    }),
    device,
    user,
    src_endpoint: compact(src),
    dst_endpoint: compact(dst),
    resources,
    evidences: [
      compact({
        src_endpoint: compact(src),
        dst_endpoint: compact(dst),
        process,
        ...(domain ? { query: { hostname: domain } } : {}),
      }),
      ...malwareFiles,
    ].filter((ev) => Object.keys(ev).length > 0),
    metadata: compact({
      product: { vendor_name: "AWS", name: "GuardDuty" },
      uid: id,
      original_time: timeStr,
      log_name: "guardduty",
      event_code: type,
    }),
    unmapped: compact({
      account_id: str(f, "accountId"),
      region: str(f, "region"),
      arn: str(f, "arn"),
      severity,
      count: num(service, "count"),
      detector_id: str(service, "detectorId"),
      action_type: str(action, "actionType"),
      api: str(action, "awsApiCallAction.api"),
      sample: sample || undefined,
    }),
  };
  return compact(draft);
}

/** GuardDuty findings (bare, SDK PascalCase, or in an EventBridge envelope). */
export const guardduty: Normalizer = {
  format: "aws_guardduty",
  aliases: ["guardduty"],
  detect: (e: RawEvent) => e.kind === "json" && (isEnvelope(e.value) || isFinding(e.value)),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("GuardDuty findings are JSON");
    let f: Obj = e.value;
    if (isEnvelope(f)) {
      if (f["detail-type"] !== "GuardDuty Finding") {
        return reject(
          `EventBridge aws.guardduty event "${String(f["detail-type"])}" is not a finding: route only detail-type "GuardDuty Finding"`,
        );
      }
      const detail = obj(f, "detail");
      if (!detail) throw new Error('EventBridge "GuardDuty Finding" event without a detail object');
      f = detail;
    }
    if (!("arn" in f) && "Arn" in f) f = camelKeys(f) as Obj;
    return normalizeFinding(f);
  },
};
