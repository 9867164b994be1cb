/**
 * CrowdStrike Alerts API v2 resources (`/alerts/entities/alerts/v2`, the detections API's successor): endpoint
 * (epp, overwatch), identity (idp), cloud and other products' alerts, snake_case, with the `device` object, parent
 * and grandparent process details, written/accessed files and network accesses.
 */
import type { Draft } from "./types.ts";
import type { Obj } from "./util.ts";
import {
  arr,
  baseName,
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
} from "./util.ts";
import { eventTime } from "./finalize.ts";
import { tacticOf, type AttackRef } from "./mitre-util.ts";

type Evidence = NonNullable<Extract<Draft, { class_uid: 2004 }>["evidences"]>[number];

const MAX_EVIDENCES = 20;

/** Whether `v` is one Alerts API resource: composite_id, cid, the alert's kind (product or type) and its triage state. */
export function isAlertResource(v: Obj): boolean {
  return (
    typeof v["composite_id"] === "string" &&
    typeof v["cid"] === "string" &&
    (typeof v["product"] === "string" || typeof v["type"] === "string") &&
    (typeof v["status"] === "string" || typeof v["severity"] === "number" || typeof v["severity_name"] === "string")
  );
}

/** An Alerts API response (`{meta, resources: [...], errors}`): a batch of alerts. */
export function isAlertBatch(v: Obj): boolean {
  const list = v["resources"];
  return (
    typeof v["meta"] === "object" &&
    Array.isArray(list) &&
    list.length > 0 &&
    list[0] !== null &&
    typeof list[0] === "object" &&
    isAlertResource(list[0] as Obj)
  );
}

const STATUS: Record<string, readonly [number, string]> = {
  new: [1, "New"],
  reopened: [1, "New"],
  in_progress: [2, "In Progress"],
  closed: [4, "Resolved"],
};

/** A process id JavaScript holds exactly; the Alerts API gives the OS pid as `local_process_id`. */
function pid(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const realHash = (v: string | undefined) => (v && !/^0+$/.test(v) ? v.toLowerCase() : undefined);

function fileOf(o: unknown) {
  const path = str(o, "filepath");
  const name = str(o, "filename") ?? baseName(path);
  return compact({
    name,
    path: path && name && !path.endsWith(name) ? `${path}${path.includes("/") ? "/" : "\\"}${name}` : path,
    hashes: hashesBy(["sha256", "sha1", "md5"], (k) => realHash(str(o, k))),
  });
}

function attacksOf(v: Obj): AttackRef[] {
  const rows = arr(v, "mitre_attack").length > 0 ? arr(v, "mitre_attack") : [v];
  const out = new Map<string, AttackRef>();
  for (const m of rows) {
    const tactic = str(m, "tactic");
    const technique = str(m, "technique");
    const techniqueId = str(m, "technique_id");
    const attack: AttackRef = compact({
      tactic: tactic ? tacticOf(tactic, str(m, "tactic_id")) : undefined,
      technique: technique || techniqueId ? compact({ uid: techniqueId, name: technique }) : undefined,
    });
    if (Object.keys(attack).length > 0) out.set(JSON.stringify(attack), attack);
  }
  return [...out.values()];
}

function evidencesOf(v: Obj): Evidence[] {
  const out: Evidence[] = [];
  const file = fileOf(v);
  const parent = obj(v, "parent_details");
  if (str(v, "cmdline") || pid(v["local_process_id"]) !== undefined) {
    out.push({
      process: compact({
        name: file.name,
        pid: pid(v["local_process_id"]),
        cmd_line: str(v, "cmdline"),
        file,
        user: str(v, "user_name")
          ? compact({ name: str(v, "user_name"), uid: str(v, "user_id"), domain: str(v, "logon_domain") })
          : undefined,
        parent_process: compact({
          name: str(parent, "filename") ?? baseName(str(parent, "filepath")),
          pid: pid(get(parent, "local_process_id")),
          cmd_line: str(parent, "cmdline"),
        }),
      }),
      ...(Object.keys(file).length > 0 ? { file } : {}),
    });
  } else if (Object.keys(file).length > 0) out.push({ file });
  const files = [
    ...arr(v, "files_written"),
    ...arr(v, "executables_written"),
    ...arr(v, "files_accessed"),
    ...arr(v, "quarantined_files"),
    ...arr(v, "associated_files"),
  ];
  for (const f of files.slice(0, MAX_EVIDENCES)) {
    const ev = fileOf(f);
    if (ev.name || ev.path) out.push({ file: ev });
  }
  for (const n of arr(v, "network_accesses").slice(0, MAX_EVIDENCES)) {
    const src = compact({ ip: ip(get(n, "local_address")), port: port(get(n, "local_port")) });
    const dst = compact({ ip: ip(get(n, "remote_address")), port: port(get(n, "remote_port")) });
    if (src.ip || dst.ip) out.push(compact({ src_endpoint: src, dst_endpoint: dst }));
  }
  return out;
}

function severity(v: Obj): number {
  const word = severityFromWord(str(v, "severity_name"));
  if (word > 0) return word;
  const n = num(v, "severity");
  return n === undefined ? 0 : severityFromScore(n);
}

/** One Alerts API v2 resource as an OCSF Detection Finding. */
export function alertDraft(v: Obj): Draft {
  const uid = str(v, "composite_id");
  const title = str(v, "display_name") ?? str(v, "name");
  if (!uid || !title) throw new Error("CrowdStrike alert without composite_id and display_name/name");
  const d = obj(v, "device");
  const originalTime = str(v, "timestamp") ?? str(v, "created_timestamp");
  const [statusId, status] = STATUS[(str(v, "status") ?? "").toLowerCase()] ?? [0, "Unknown"];
  const userName = str(v, "user_name") ?? str(v, "source_account_upn") ?? str(v, "source_account_name");
  const upn = str(v, "user_principal") ?? str(v, "source_account_upn");
  const src = compact({
    hostname: str(v, "source_endpoint_host_name"),
    ip: ip(v["source_endpoint_ip_address"]) ?? ip(v["source_endpoint_address_ip4"]),
    uid: str(v, "source_endpoint_sensor_id"),
  });
  const dst = compact({ hostname: str(v, "target_endpoint_host_name"), uid: str(v, "target_endpoint_sensor_id") });
  const draft: Draft = {
    class_uid: 2004,
    activity_id: statusId === 4 ? 3 : 1,
    activity_name: statusId === 4 ? "Close" : "Create",
    time: eventTime(v["timestamp"], v["created_timestamp"], v["context_timestamp"], v["updated_timestamp"]),
    severity_id: severity(v),
    status_id: statusId,
    status,
    message: str(v, "description") ?? title,
    is_alert: true,
    confidence_score: num(v, "confidence"),
    finding_info: compact({
      uid,
      title,
      desc: str(v, "description"),
      types: [str(v, "objective"), str(v, "scenario")].filter((x): x is string => x !== undefined),
      analytic: compact({
        uid: str(v, "pattern_id"),
        name: str(v, "name") ?? title,
        type_id: 1,
        type: "Rule",
        category: str(v, "scenario"),
      }),
      attacks: attacksOf(v),
      created_time: eventTime(v["created_timestamp"]),
      first_seen_time: eventTime(v["start_time"], v["context_timestamp"]),
      last_seen_time: eventTime(v["end_time"]),
      src_url: str(v, "falcon_host_link"),
      product_uid: str(v, "indicator_id") ?? str(v, "id"),
    }),
    device: compact({
      hostname: str(d, "hostname"),
      ip: ip(get(d, "local_ip")) ?? ip(get(d, "external_ip")),
      mac: str(d, "mac_address"),
      uid: str(d, "device_id") ?? str(v, "agent_id"),
      domain: str(d, "machine_domain"),
      os: compact({ name: str(d, "platform_name") ?? str(v, "platform"), version: str(d, "os_version") }),
    }),
    ...(userName || upn
      ? {
          user: compact({
            name: userName,
            uid: str(v, "user_id") ?? str(v, "source_account_object_sid"),
            domain: str(v, "logon_domain") ?? str(v, "source_account_domain"),
            email_addr: upn?.includes("@") ? upn : undefined,
          }),
        }
      : {}),
    src_endpoint: src,
    dst_endpoint: dst,
    evidences: evidencesOf(v),
    metadata: compact({
      product: { vendor_name: "CrowdStrike", name: "Falcon" },
      uid,
      original_time: originalTime,
      log_name: "alerts_v2",
      event_code: str(v, "pattern_id"),
      correlation_uid: str(v, "aggregate_id") || undefined,
      labels: arr(v, "tags").filter((x): x is string => typeof x === "string"),
    }),
    unmapped: compact({
      product: str(v, "product"),
      detection_type: str(v, "type"),
      disposition: str(v, "pattern_disposition_description"),
      disposition_value: num(v, "pattern_disposition"),
      ioc_type: str(v, "ioc_type"),
      ioc_value: str(v, "ioc_value"),
      customer_id: str(v, "cid"),
      incident_id: str(v, "incident.id"),
      assigned_to: str(v, "assigned_to_name") ?? str(v, "assigned_to_uid"),
      grandparent_cmd_line: str(v, "grandparent_details.cmdline"),
      external_ip: str(d, "external_ip"),
    }),
  };
  return compact(draft);
}
