/**
 * CrowdStrike Falcon streaming API (Event Streams) detections: DetectionSummaryEvent (legacy) and
 * EppDetectionSummaryEvent (current). Other event-stream records (audit, auth activity, incidents) are refused.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import {
  arr,
  compact,
  get,
  hashesBy,
  ip,
  num,
  obj,
  port,
  severityFromScore,
  severityFromWord,
  str,
  time,
} from "./util.ts";
import { tacticOf, type AttackRef } from "./mitre-util.ts";

type Evidence = NonNullable<Extract<Draft, { class_uid: 2004 }>["evidences"]>[number];

const DETECTION_TYPES = new Set(["detectionsummaryevent", "eppdetectionsummaryevent"]);
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

/** Falcon streaming API detections (`metadata.eventType` DetectionSummaryEvent / EppDetectionSummaryEvent). */
export const crowdstrikeFalcon: Normalizer = {
  format: "crowdstrike_falcon",
  aliases: ["crowdstrike", "falcon"],
  detect: (e: RawEvent) =>
    e.kind === "json" &&
    typeof get(e.value, "metadata.eventType") === "string" &&
    (typeof get(e.value, "metadata.customerIDString") === "string" ||
      typeof get(e.value, "metadata.offset") === "number") &&
    get(e.value, "metadata.eventCreationTime") !== undefined,
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("CrowdStrike Falcon streaming events are JSON");
    const meta = obj(raw.value, "metadata");
    const eventType = str(meta, "eventType");
    if (!meta || !eventType) throw new Error("CrowdStrike streaming event without metadata.eventType");
    if (!DETECTION_TYPES.has(eventType.toLowerCase())) {
      return reject(
        /DetectionSummaryEvent$/i.test(eventType)
          ? `CrowdStrike ${eventType} is a detection type Riposte does not map yet; only DetectionSummaryEvent and EppDetectionSummaryEvent are`
          : `CrowdStrike ${eventType} is an event-stream record (audit/activity), not a detection: filter the Falcon event stream to DetectionSummaryEvent and EppDetectionSummaryEvent`,
      );
    }
    const e = obj(raw.value, "event");
    if (!e) throw new Error(`CrowdStrike ${eventType} without an event body`);
    const uid = str(e, "CompositeId") ?? str(e, "DetectId");
    const title = str(e, "DetectName") ?? str(e, "Name");
    if (!uid || !title) throw new Error(`CrowdStrike ${eventType} without CompositeId/DetectId and DetectName/Name`);
    const originalTime = meta["eventCreationTime"] ?? e["ProcessStartTime"];
    const t = time(originalTime);
    if (t === undefined) throw new Error(`CrowdStrike eventCreationTime ${JSON.stringify(originalTime)} is not a time`);
    const desc = str(e, "DetectDescription") ?? str(e, "Description");
    const hostname = str(e, "ComputerName") ?? str(e, "Hostname");
    const userName = str(e, "UserName");
    const patternId = str(e, "PatternId");
    const objective = str(e, "Objective");
    const started = time(e["ProcessStartTime"]);
    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
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
        created_time: t,
        first_seen_time: started && started > 0 ? started : undefined,
        src_url: str(e, "FalconHostLink"),
      }),
      device: compact({
        hostname,
        ip: ip(e["LocalIP"]) ?? ip(e["LocalIPv6"]),
        mac: str(e, "MACAddress"),
        uid: str(e, "SensorId") ?? str(e, "AgentId"),
        domain: str(e, "MachineDomain"),
      }),
      ...(userName
        ? { user: compact({ name: userName, domain: str(e, "LogonDomain") ?? str(e, "MachineDomain") }) }
        : {}),
      evidences: evidences(e),
      metadata: compact({
        product: { vendor_name: "CrowdStrike", name: "Falcon" },
        uid,
        original_time:
          typeof originalTime === "string" || typeof originalTime === "number" ? String(originalTime) : undefined,
        log_name: eventType,
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
      }),
    };
    return draft;
  },
};
