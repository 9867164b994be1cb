/**
 * CrowdStrike Falcon detections and audit records in every shape Falcon delivers them:
 * - the streaming API / Falcon SIEM connector JSON, `{metadata: {eventType, eventCreationTime, ...}, event: {...}}`;
 * - the same flattened, as the SIEM connector's and event stream's flat output, Falcon Data Replicator, Falcon
 *   LogScale / Next-Gen SIEM and their forwarders deliver it: the event's fields at the top level (or in
 *   `unknown_payload`, or as dotted `metadata.x` / `event.x` keys), the type in `ExternalApiType`
 *   (`Event_EppDetectionSummaryEvent`) or `#event_simpleName`;
 * - Alerts API v2 resources (`/alerts/entities/alerts/v2`, see crowdstrike-alerts.ts).
 * Every `*DetectionSummaryEvent` (legacy, EPP, identity, XDR, mobile...) becomes a Detection Finding; audit records
 * (AuthActivityAuditEvent, UserActivityAuditEvent) the class of their operation (crowdstrike-audit.ts); any other
 * stream record or sensor event a Base Event.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, compact, get, hashesBy, ip, num, obj, port, severityFromScore, severityFromWord, str } from "./util.ts";
import { tacticOf, type AttackRef } from "./mitre-util.ts";
import { eventTime } from "./finalize.ts";
import { auditDraft } from "./crowdstrike-audit.ts";
import { alertDraft, isAlertBatch, isAlertResource } from "./crowdstrike-alerts.ts";

type Evidence = NonNullable<Extract<Draft, { class_uid: 2004 }>["evidences"]>[number];

const AUDIT_TYPES = new Set(["authactivityauditevent", "useractivityauditevent"]);
const MAX_EVIDENCES = 20;

/** SHA256String, SHA1String and MD5String, lower-cased; all-zero placeholders are not hashes. */
function hashes(e: Obj): Array<{ algorithm: string; value: string }> {
  return hashesBy(["sha256", "sha1", "md5"], (k) => {
    const v = str(e, `${k.toUpperCase()}String`);
    return v && !/^0+$/.test(v) ? v.toLowerCase() : undefined;
  });
}

/** FilePath is a directory in DetectionSummaryEvent and the full path in EppDetectionSummaryEvent. */
function fullPath(dir: string | undefined, name: string | undefined): string | undefined {
  if (!dir) return undefined;
  if (!name || dir.toLowerCase().endsWith(name.toLowerCase())) return dir;
  const sep = dir.includes("\\") ? "\\" : "/";
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

/** A process id, when it is one JavaScript can hold exactly (Falcon's are sometimes 64-bit). */
function pid(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function attacks(e: Obj): AttackRef[] {
  const mitre = arr(e, "MitreAttack").filter((m): m is Obj => m !== null && typeof m === "object");
  const rows = mitre.length > 0 ? mitre : [e];
  const out: AttackRef[] = [];
  const seen = new Set<string>();
  for (const m of rows) {
    const tactic = str(m, "Tactic");
    const technique = str(m, "Technique");
    const techniqueId = str(m, "TechniqueID") ?? str(m, "TechniqueId");
    const attack: AttackRef = compact({
      tactic: tactic ? tacticOf(tactic, str(m, "TacticID") ?? str(m, "TacticId")) : undefined,
      technique: technique || techniqueId ? compact({ uid: techniqueId, name: technique }) : undefined,
    });
    const key = JSON.stringify(attack);
    if (Object.keys(attack).length > 0 && !seen.has(key)) {
      seen.add(key);
      out.push(attack);
    }
  }
  return out;
}

function severity(e: Obj): number {
  const word = severityFromWord(str(e, "SeverityName"));
  if (word > 0) return word;
  const n = num(e, "Severity");
  if (n === undefined) return 0;
  return n <= 5 ? Math.max(1, Math.round(n)) : severityFromScore(n);
}

function evidences(e: Obj): Evidence[] {
  const out: Evidence[] = [];
  const fileName = str(e, "FileName");
  const file = compact({ name: fileName, path: fullPath(str(e, "FilePath"), fileName), hashes: hashes(e) });
  const cmd = str(e, "CommandLine");
  if (cmd || pid(e["ProcessId"]) !== undefined) {
    const parentPath = str(e, "ParentImageFilePath");
    out.push({
      process: compact({
        name: fileName,
        pid: pid(e["ProcessId"]),
        cmd_line: cmd,
        file,
        user: str(e, "UserName") ? compact({ name: str(e, "UserName"), domain: str(e, "LogonDomain") }) : undefined,
        parent_process: compact({
          name: str(e, "ParentImageFileName") ?? parentPath?.split(/[\\/]/).pop(),
          pid: pid(e["ParentProcessId"]),
          cmd_line: str(e, "ParentCommandLine"),
        }),
      }),
      ...(Object.keys(file).length > 0 ? { file } : {}),
    });
  } else if (Object.keys(file).length > 0) {
    out.push({ file });
  }
  for (const w of [...arr(e, "FilesWritten"), ...arr(e, "FilesAccessed")].slice(0, MAX_EVIDENCES)) {
    const name = str(w, "FileName");
    if (name) out.push({ file: compact({ name, path: fullPath(str(w, "FilePath"), name) }) });
  }
  for (const n of arr(e, "NetworkAccesses").slice(0, MAX_EVIDENCES)) {
    const src = compact({ ip: ip(get(n, "LocalAddress")), port: port(get(n, "LocalPort")) });
    const dst = compact({ ip: ip(get(n, "RemoteAddress")), port: port(get(n, "RemotePort")) });
    if (src.ip || dst.ip) out.push(compact({ src_endpoint: src, dst_endpoint: dst }));
  }
  return out;
}

/** A Falcon record reduced to its type, stream metadata and event fields, whatever shape delivered it. */
interface Shape {
  readonly type: string;
  readonly meta: Obj;
  readonly event: Obj;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** `metadata.x` / `event.x` keys of a flattened record, as objects. */
function dotted(v: Obj, prefix: string): Obj {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = x;
  return out;
}

/** `Event_EppDetectionSummaryEvent` → `EppDetectionSummaryEvent`. */
const bare = (t: string) => t.replace(/^Event_/, "");

function shapeOf(v: Obj): Shape | undefined {
  const meta = obj(v, "metadata");
  const metaType = str(meta, "eventType");
  if (meta && metaType) {
    // customerIDString and offset are on every stream record; eventCreationTime may be missing or redacted.
    const envelope = typeof meta["customerIDString"] === "string" || typeof meta["offset"] === "number";
    return envelope ? { type: metaType, meta, event: obj(v, "event") ?? {} } : undefined;
  }
  if (typeof v["metadata.eventType"] === "string") {
    return { type: v["metadata.eventType"], meta: dotted(v, "metadata."), event: dotted(v, "event.") };
  }
  const payload = obj(v, "unknown_payload") ?? {};
  const nested = obj(v, "event") ?? {};
  const api = [
    v["ExternalApiType"],
    nested["ExternalApiType"],
    payload["ExternalApiType"],
    v["#event_simpleName"],
  ].find((t): t is string => typeof t === "string" && /^Event_[A-Za-z]+$/.test(t));
  const fdr = api ? undefined : str(v, "event_simpleName");
  if (!api && !(fdr && typeof v["aid"] === "string" && typeof v["cid"] === "string")) return undefined;
  // Built only for a Falcon record: detection asks every JSON event reaching it, and most are not.
  const event: Obj = { ...payload, ...v, ...nested };
  const flatMeta: Obj = compact({
    customerIDString: str(event, "CustomerIdString") ?? str(event, "cid"),
    eventType: api ? bare(api) : undefined,
  });
  if (api) return { type: bare(api), meta: flatMeta, event };
  return { type: fdr?.startsWith("Event_") ? bare(fdr) : `fdr:${fdr}`, meta: flatMeta, event };
}

/** A Falcon detection summary of any product as an OCSF Detection Finding. */
function detectionDraft({ type, meta, event: e }: Shape): Draft {
  const uid = str(e, "CompositeId") ?? str(e, "DetectId") ?? str(e, "CompositeID");
  const title = str(e, "DetectName") ?? str(e, "Name") ?? str(e, "DisplayName");
  if (!uid || !title) throw new Error(`CrowdStrike ${type} without CompositeId/DetectId and DetectName/Name`);
  const candidates = [
    meta["eventCreationTime"],
    e["timestamp"],
    e["UTCTimestamp"],
    e["@timestamp"],
    e["ProcessStartTime"],
  ];
  const originalTime = candidates.find((c) => typeof c === "string" || typeof c === "number");
  const desc = str(e, "DetectDescription") ?? str(e, "Description");
  const hostname = str(e, "ComputerName") ?? str(e, "Hostname");
  const userName = str(e, "UserName") ?? str(e, "SourceAccountUpn") ?? str(e, "SourceAccountName");
  const upn = str(e, "SourceAccountUpn") ?? str(e, "UserPrincipal");
  const patternId = str(e, "PatternId");
  const objective = str(e, "Objective");
  const started = eventTime(e["ProcessStartTime"]);
  const draft: Draft = {
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: eventTime(...candidates),
    severity_id: severity(e),
    status_id: 1,
    status: "New",
    message: desc ?? title,
    is_alert: true,
    finding_info: compact({
      uid,
      title,
      desc,
      types: objective ? [objective] : undefined,
      analytic: compact({ uid: patternId, name: title, type_id: 1, type: "Rule", category: objective }),
      attacks: attacks(e),
      created_time: eventTime(...candidates.slice(0, 4)),
      first_seen_time: started,
      src_url: str(e, "FalconHostLink"),
    }),
    device: compact({
      hostname,
      ip: ip(e["LocalIP"]) ?? ip(e["LocalIPv6"]) ?? ip(e["aip"]),
      mac: str(e, "MACAddress"),
      uid: str(e, "SensorId") ?? str(e, "AgentId") ?? str(e, "AgentIdString") ?? str(e, "aid"),
      domain: str(e, "MachineDomain"),
      os: compact({ name: str(e, "PlatformName") }),
    }),
    ...(userName
      ? {
          user: compact({
            name: userName,
            uid: str(e, "SourceAccountObjectSid") ?? str(e, "UserSid"),
            domain: str(e, "LogonDomain") ?? str(e, "SourceAccountDomain") ?? str(e, "MachineDomain"),
            email_addr: upn?.includes("@") ? upn : undefined,
          }),
        }
      : {}),
    src_endpoint: compact({
      hostname: str(e, "SourceEndpointHostName"),
      ip: ip(e["SourceEndpointIpAddress"]) ?? ip(e["SourceEndpointAddressIP4"]),
      uid: str(e, "SourceEndpointSensorId"),
    }),
    dst_endpoint: compact({ hostname: str(e, "TargetEndpointHostName"), uid: str(e, "TargetEndpointSensorId") }),
    evidences: evidences(e),
    metadata: compact({
      product: { vendor_name: "CrowdStrike", name: "Falcon" },
      uid,
      original_time: originalTime === undefined ? undefined : String(originalTime),
      log_name: type,
      event_code: patternId,
      correlation_uid: str(e, "AggregateId"),
    }),
    unmapped: compact({
      disposition: str(e, "PatternDispositionDescription"),
      disposition_value: num(e, "PatternDispositionValue"),
      ioc_type: str(e, "IOCType"),
      ioc_value: str(e, "IOCValue"),
      detection_type: str(e, "Type"),
      host_groups: str(e, "HostGroups"),
      grandparent_cmd_line: str(e, "GrandParentCommandLine") ?? str(e, "GrandparentCommandLine"),
      customer_id: str(meta, "customerIDString"),
      source_products: str(e, "SourceProducts"),
    }),
  };
  return compact(draft);
}

/**
 * Any other Falcon record (other event-stream types such as RemoteResponseSessionStartEvent or FirewallMatchEvent,
 * Falcon Data Replicator sensor events) as a Base Event: understood, kept with its host, user, addresses and time.
 */
function otherDraft({ type, meta, event: e }: Shape): Draft {
  const fdr = type.startsWith("fdr:");
  const name = fdr ? type.slice(4) : type;
  const hostname = str(e, "ComputerName") ?? str(e, "Hostname") ?? str(e, "HostnameField") ?? str(e, "HostName");
  const userName = str(e, "UserName") ?? str(e, "UserId");
  const candidates = [
    meta["eventCreationTime"],
    e["UTCTimestamp"],
    e["timestamp"],
    e["StartTimestamp"],
    e["@timestamp"],
  ];
  const originalTime = candidates.find((c) => typeof c === "string" || typeof c === "number");
  const draft: Draft = {
    class_uid: 0,
    activity_id: 99,
    activity_name: "Other",
    time: eventTime(...candidates),
    severity_id: 1,
    message: `Falcon ${fdr ? "sensor event" : "event-stream record"} ${name}${hostname ? ` on ${hostname}` : ""}`,
    device: compact({
      hostname,
      ip: ip(e["LocalIP"]) ?? ip(e["LocalAddressIP4"]) ?? ip(e["aip"]),
      uid: str(e, "AgentIdString") ?? str(e, "AgentId") ?? str(e, "SensorId") ?? str(e, "aid"),
    }),
    ...(userName
      ? { user: compact({ name: userName, email_addr: userName.includes("@") ? userName : undefined }) }
      : {}),
    src_endpoint: compact({ ip: ip(e["UserIp"]) }),
    metadata: compact({
      product: { vendor_name: "CrowdStrike", name: fdr ? "Falcon Data Replicator" : "Falcon" },
      original_time: originalTime === undefined ? undefined : String(originalTime),
      log_name: fdr ? "fdr" : name,
      event_code: name,
    }),
    unmapped: compact({ customer_id: str(meta, "customerIDString") ?? str(e, "cid"), offset: str(meta, "offset") }),
  };
  return compact(draft);
}

/** CrowdStrike Falcon: streaming / SIEM connector records (nested or flattened) and Alerts API v2 resources. */
export const crowdstrikeFalcon: Normalizer = {
  format: "crowdstrike_falcon",
  aliases: ["crowdstrike", "falcon"],
  detect: (e: RawEvent) =>
    e.kind === "json" && (shapeOf(e.value) !== undefined || isAlertResource(e.value) || isAlertBatch(e.value)),
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("CrowdStrike Falcon events are JSON");
    const v = raw.value;
    if (isAlertBatch(v))
      return reject(
        `an Alerts API response of ${arr(v, "resources").length} alerts is not one event: send each alert of resources[] as its own event`,
      );
    if (isAlertResource(v)) return alertDraft(v);
    const shape = shapeOf(v);
    if (!shape)
      throw new Error("not a CrowdStrike Falcon record (no metadata.eventType, ExternalApiType or composite_id)");
    if (/DetectionSummaryEvent$/i.test(shape.type)) {
      if (Object.keys(shape.event).length === 0) throw new Error(`CrowdStrike ${shape.type} without an event body`);
      return detectionDraft(shape);
    }
    if (AUDIT_TYPES.has(shape.type.toLowerCase())) {
      if (!isObj(shape.event) || Object.keys(shape.event).length === 0)
        throw new Error(`CrowdStrike ${shape.type} without an event body`);
      return auditDraft(shape.type, shape.meta, shape.event);
    }
    return otherDraft(shape);
  },
};
