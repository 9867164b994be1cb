/**
 * Amazon GuardDuty findings: the finding JSON (GetFindings, S3 export), the same in the SDK's PascalCase, or an
 * EventBridge "GuardDuty Finding" event (finding in `detail`). Built from the GuardDuty finding format and API
 * reference (Finding, Resource, Service, Action, Detection/Sequence data types).
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import {
  arr,
  baseName,
  compact,
  get,
  hashOf,
  ip,
  num,
  obj,
  port,
  severityFromTen,
  severityFromWord,
  str,
} from "./util.ts";
import { awsTactic } from "./mitre-util.ts";
import { eventTime } from "./finalize.ts";
import { awsCloud } from "./aws-util.ts";
import { deviceOf, principalOf, resourcesOf } from "./guardduty-entities.ts";

type Ep = {
  ip?: string | undefined;
  port?: number | undefined;
  hostname?: string | undefined;
  location?: { country?: string | undefined; city?: string | undefined } | undefined;
};

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

/** GetFindings' `{"findings": [...]}` (`Findings` from the CLI): a batch, not one event. */
const isBatch = (v: Obj) => {
  const list = v["findings"] ?? v["Findings"];
  return Array.isArray(list) && list.length > 0 && isFinding((list[0] ?? {}) as Obj);
};

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

/** A remote endpoint from RemoteIpDetails (address, country, city). */
function remote(d: unknown, p?: number): Ep {
  return compact({
    ip: remoteIp(d),
    port: p,
    location: compact({
      country: str(d, "country.countryCode") ?? str(d, "country.countryName"),
      city: str(d, "city.cityName"),
    }),
  });
}

/** Source and destination of the finding's action; `local` is the affected instance's address. */
function endpointsOf(
  action: Obj | undefined,
  local: string | undefined,
): { src: Ep; dst: Ep; domain?: string | undefined } {
  switch (str(action, "actionType")) {
    case "NETWORK_CONNECTION": {
      const a = obj(action, "networkConnectionAction");
      const far = remote(get(a, "remoteIpDetails"), port(get(a, "remotePortDetails.port")));
      const mine = {
        ip: ip(get(a, "localIpDetails.ipAddressV4")) ?? ip(get(a, "localIpDetails.ipAddressV6")) ?? local,
        port: port(get(a, "localPortDetails.port")),
      };
      return str(a, "connectionDirection") === "INBOUND" ? { src: far, dst: mine } : { src: mine, dst: far };
    }
    case "PORT_PROBE": {
      const d = arr(action, "portProbeAction.portProbeDetails")[0];
      return {
        src: remote(get(d, "remoteIpDetails")),
        dst: { ip: ip(get(d, "localIpDetails.ipAddressV4")) ?? local, port: port(get(d, "localPortDetails.port")) },
      };
    }
    case "DNS_REQUEST":
      return { src: { ip: local }, dst: {}, domain: str(action, "dnsRequestAction.domain") };
    case "AWS_API_CALL": {
      const a = obj(action, "awsApiCallAction");
      return {
        src: { ...remote(get(a, "remoteIpDetails")), hostname: str(a, "domainDetails.domain") },
        dst: { hostname: str(a, "serviceName") },
      };
    }
    case "KUBERNETES_API_CALL": {
      const a = obj(action, "kubernetesApiCallAction");
      const src = remote(get(a, "remoteIpDetails"));
      return { src: { ...src, ip: src.ip ?? ip(arr(a, "sourceIps")[0]) }, dst: {} };
    }
    case "RDS_LOGIN_ATTEMPT":
      return { src: remote(get(action, "rdsLoginAttemptAction.remoteIpDetails")), dst: {} };
    default:
      return { src: {}, dst: {} };
  }
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

function severityOf(v: unknown): number {
  if (typeof v === "string" && !/^\d/.test(v.trim())) return severityFromWord(v);
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  return Number.isFinite(n) ? severityFromTen(n) : 0;
}

function normalizeFinding(f: Obj): Draft {
  const id = str(f, "id");
  const type = str(f, "type");
  if (!id || !type) throw new Error("GuardDuty finding without id and type");
  const timeStr = str(f, "updatedAt") ?? str(f, "createdAt");
  const t = eventTime(f["updatedAt"], f["createdAt"]);
  const account = str(f, "accountId");
  const service = obj(f, "service");
  const action = obj(service, "action");
  const r = obj(f, "resource");
  const device = deviceOf(r);
  const principal = principalOf(f, r, account);
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
    user: str(proc, "user") ? compact({ name: str(proc, "user"), uid: str(proc, "userId") }) : undefined,
  });
  const malwareFiles = [
    ...arr(service, "ebsVolumeScanDetails.scanDetections.threatDetectedByName.threatNames").flatMap((tn) =>
      arr(tn, "filePaths"),
    ),
    ...arr(service, "malwareScanDetails.threats").flatMap((tn) => arr(tn, "itemPaths")),
  ]
    .slice(0, 10)
    .map((fp) => ({
      file: compact({
        name: str(fp, "fileName") ?? baseName(str(fp, "filePath") ?? str(fp, "nestedItemPath")),
        path: str(fp, "filePath") ?? str(fp, "nestedItemPath"),
        hashes: [hashOf(get(fp, "hash"))].filter((h) => h !== undefined),
      }),
    }));
  const sample = get(service, "additionalInfo.sample") === true;
  const archived = get(service, "archived") === true;
  const title = str(f, "title") ?? type;
  const draft: Draft = {
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: t,
    severity_id: severityOf(f["severity"]),
    status_id: archived ? 5 : 1,
    status: archived ? "Archived" : "New",
    message: title,
    is_alert: true,
    finding_info: compact({
      uid: id,
      title,
      desc: str(f, "description"),
      types: [type],
      analytic: compact({ uid: type, name: type, type_id: 1, type: "Rule", category: str(service, "featureName") }),
      attacks: attacksOf(f, type),
      created_time: eventTime(f["createdAt"]),
      first_seen_time: eventTime(get(service, "eventFirstSeen")),
      last_seen_time: eventTime(get(service, "eventLastSeen")),
    }),
    device,
    ...(principal ? { user: principal, actor: { user: principal } } : {}),
    src_endpoint: compact(src),
    dst_endpoint: compact(dst),
    resources: resourcesOf(f, r),
    cloud: awsCloud({
      account,
      region: str(f, "region"),
      partition: str(f, "partition"),
      zone: str(r, "instanceDetails.availabilityZone"),
    }),
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
      account_id: account,
      region: str(f, "region"),
      arn: str(f, "arn"),
      severity: num(f, "severity"),
      count: num(service, "count"),
      detector_id: str(service, "detectorId"),
      resource_role: str(service, "resourceRole"),
      action_type: str(action, "actionType"),
      api: str(action, "awsApiCallAction.api"),
      caller_type: str(action, "awsApiCallAction.callerType"),
      error_code: str(action, "awsApiCallAction.errorCode"),
      user_agent: str(action, "awsApiCallAction.userAgent") ?? str(action, "kubernetesApiCallAction.userAgent"),
      remote_account_id: str(action, "awsApiCallAction.remoteAccountDetails.accountId"),
      attack_sequence_arn: str(f, "associatedAttackSequenceArn"),
      sample: sample || undefined,
    }),
  };
  return compact(draft);
}

/** GuardDuty findings (bare, SDK PascalCase, or in an EventBridge envelope). */
export const guardduty: Normalizer = {
  format: "aws_guardduty",
  aliases: ["guardduty"],
  detect: (e: RawEvent) => e.kind === "json" && (isEnvelope(e.value) || isFinding(e.value) || isBatch(e.value)),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("GuardDuty findings are JSON");
    let f: Obj = e.value;
    if (isBatch(f)) {
      const n = arr(f, "findings").length || arr(f, "Findings").length;
      return reject(
        `a batch of ${n} GuardDuty findings is not one event: send each finding of findings[] as its own event`,
      );
    }
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
