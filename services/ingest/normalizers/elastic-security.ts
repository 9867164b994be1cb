/**
 * Elastic Security detection alerts (`.alerts-security.alerts-*` documents: `kibana.alert.*` plus the ECS fields of
 * the source event). Keys may be dotted (`"kibana.alert.rule.name"`), nested, or a mix of both.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { compact, hashesBy, ip, port, severityFromScore, severityFromWord, time } from "./util.ts";

/** A dotted path split once, with the joined key of every run of its parts (`keys[from][to]`). */
interface DottedPath {
  readonly length: number;
  readonly keys: ReadonlyArray<readonly string[]>;
}

/** Paths are constants of this file: a handful, built once each (bounded all the same). */
const PATHS = new Map<string, DottedPath>();

function dottedPath(path: string): DottedPath {
  let p = PATHS.get(path);
  if (p === undefined) {
    const parts = path.split(".");
    // keys[from][to]: parts from..to-1 joined, as a flat or partly flat document spells that run.
    const keys = parts.map((_, from) =>
      Array.from({ length: parts.length + 1 }, (_u, to) => (to > from ? parts.slice(from, to).join(".") : "")),
    );
    p = { length: parts.length, keys };
    if (PATHS.size < 1024) PATHS.set(path, p);
  }
  return p;
}

function digFrom(o: unknown, p: DottedPath, from: number): unknown {
  if (from === p.length) return o;
  if (o === null || typeof o !== "object" || Array.isArray(o)) return undefined;
  const rec = o as Record<string, unknown>;
  const keys = p.keys[from] as readonly string[];
  for (let to = p.length; to > from; to--) {
    const key = keys[to] as string;
    if (key in rec) {
      const v = digFrom(rec[key], p, to);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** The value at a dotted path, whether the document spells it flat, nested or mixed. */
function dig(o: unknown, path: string): unknown {
  return digFrom(o, dottedPath(path), 0);
}

const s = (o: unknown, path: string): string | undefined => {
  const v = dig(o, path);
  if (typeof v === "string") return v.trim() === "" ? undefined : v;
  return typeof v === "number" ? String(v) : undefined;
};
const n = (o: unknown, path: string): number | undefined => {
  const v = dig(o, path);
  const x = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(x) ? x : undefined;
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const strings = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === "string" && x !== "");

/** ECS `threat[]` (or `kibana.alert.rule.threat[]`) → OCSF attacks, one per technique and sub-technique. */
function attacksOf(threats: unknown[]) {
  type Ref = { uid?: string | undefined; name?: string | undefined };
  const out: Array<{ tactic?: Ref; technique?: Ref }> = [];
  for (const t of threats) {
    if (s(t, "framework") && !/mitre/i.test(s(t, "framework")!)) continue;
    const tactic = compact({ uid: s(t, "tactic.id"), name: s(t, "tactic.name") });
    const withTactic = Object.keys(tactic).length ? { tactic } : {};
    const techniques = list(dig(t, "technique"));
    if (techniques.length === 0 && Object.keys(tactic).length) out.push(withTactic);
    for (const tech of techniques) {
      out.push({ ...withTactic, technique: compact({ uid: s(tech, "id"), name: s(tech, "name") }) });
      for (const sub of list(dig(tech, "subtechnique"))) {
        const name = [s(tech, "name"), s(sub, "name")].filter(Boolean).join(": ");
        out.push({ ...withTactic, technique: compact({ uid: s(sub, "id"), name: name || undefined }) });
      }
    }
  }
  return out;
}

const hashesOf = (o: unknown, path: string) =>
  hashesBy(["md5", "sha1", "sha256", "sha512"], (k) => s(o, `${path}.${k}`));

const STATUS: Record<string, [number, string]> = {
  open: [1, "New"],
  acknowledged: [2, "In Progress"],
  "in-progress": [2, "In Progress"],
  closed: [4, "Resolved"],
};

/** Elastic Security detection alert; see the module comment. */
export const elasticSecurity: Normalizer = {
  format: "elastic_security_alert",
  aliases: ["elastic"],
  detect: (e: RawEvent) =>
    e.kind === "json" &&
    typeof dig(e.value, "kibana.alert.uuid") === "string" &&
    (dig(e.value, "kibana.alert.rule.name") !== undefined || dig(e.value, "kibana.alert.rule.uuid") !== undefined),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("an Elastic Security alert is a JSON document");
    const v = e.value;
    const uid = s(v, "kibana.alert.uuid");
    const title = s(v, "kibana.alert.rule.name");
    if (!uid || !title) throw new Error("Elastic Security alert without kibana.alert.uuid and kibana.alert.rule.name");
    // A building-block alert is a rule's finding that Kibana hides from the alerts table: an input to other rules.
    const buildingBlock = s(v, "kibana.alert.building_block_type");
    const timeText = s(v, "kibana.alert.original_time") ?? s(v, "@timestamp") ?? s(v, "kibana.alert.start");
    const t = eventTime(timeText, s(v, "@timestamp"), s(v, "kibana.alert.start"));
    const created = eventTime(s(v, "@timestamp"), t);

    const word = s(v, "kibana.alert.severity") ?? s(v, "kibana.alert.rule.severity");
    const risk = n(v, "kibana.alert.risk_score") ?? n(v, "kibana.alert.rule.risk_score");
    const severity = severityFromWord(word) || (risk !== undefined ? severityFromScore(risk) : 0);
    const [status_id, status] = STATUS[s(v, "kibana.alert.workflow_status") ?? "open"] ?? [99, "Other"];

    const ruleType = s(v, "kibana.alert.rule.type");
    const ruleThreat = list(dig(v, "kibana.alert.rule.threat"));
    const attacks = attacksOf(ruleThreat.length ? ruleThreat : list(dig(v, "threat")));

    const hostIp = list(dig(v, "host.ip"))
      .map(ip)
      .find((a) => a !== undefined && a !== "::1" && !a.startsWith("127."));
    const device = compact({
      hostname: s(v, "host.hostname") ?? s(v, "host.name"),
      ip: hostIp,
      uid: s(v, "host.id"),
      domain: s(v, "host.domain"),
      mac: strings(dig(v, "host.mac"))[0],
      os: compact({ name: s(v, "host.os.name"), type: s(v, "host.os.type"), version: s(v, "host.os.version") }),
    });
    const user = compact({
      name: s(v, "user.name"),
      uid: s(v, "user.id"),
      domain: s(v, "user.domain"),
      email_addr: s(v, "user.email"),
    });
    const src = compact({
      ip: ip(s(v, "source.ip")),
      port: port(n(v, "source.port")),
      hostname: s(v, "source.domain"),
    });
    const dst = compact({
      ip: ip(s(v, "destination.ip")),
      port: port(n(v, "destination.port")),
      hostname: s(v, "destination.domain"),
    });
    const procHashes = hashesOf(v, "process.hash");
    const process = compact({
      name: s(v, "process.name"),
      pid: n(v, "process.pid"),
      cmd_line: s(v, "process.command_line"),
      file: compact({
        name: s(v, "process.name"),
        path: s(v, "process.executable"),
        hashes: procHashes.length ? procHashes : undefined,
      }),
      user: s(v, "process.user.name") ? { name: s(v, "process.user.name")! } : undefined,
      parent_process: compact({
        name: s(v, "process.parent.name"),
        pid: n(v, "process.parent.pid"),
        cmd_line: s(v, "process.parent.command_line"),
      }),
    });
    const fileHashes = hashesOf(v, "file.hash");
    const file = compact({
      name: s(v, "file.name"),
      path: s(v, "file.path"),
      size: n(v, "file.size"),
      hashes: fileHashes.length ? fileHashes : undefined,
    });
    const urlText = s(v, "url.full") ?? s(v, "url.original");
    const dns = s(v, "dns.question.name");
    const evidence = compact({
      process: Object.keys(process).length ? process : undefined,
      file: Object.keys(file).length ? file : undefined,
      url: urlText ? compact({ url_string: urlText, hostname: s(v, "url.domain"), path: s(v, "url.path") }) : undefined,
      query: dns ? { hostname: dns } : undefined,
      src_endpoint: src,
      dst_endpoint: dst,
    });
    const types = strings(dig(v, "kibana.alert.original_event.category"));

    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
      severity_id: severity,
      status_id,
      status,
      message: s(v, "kibana.alert.reason") ?? title,
      is_alert: buildingBlock === undefined,
      ...(risk !== undefined ? { risk_score: risk } : {}),
      finding_info: compact({
        uid,
        title,
        desc: s(v, "rule.description") ?? s(v, "kibana.alert.rule.description"),
        types: types.length ? types : strings(dig(v, "event.category")),
        analytic: compact({
          uid: s(v, "kibana.alert.rule.rule_id") ?? s(v, "kibana.alert.rule.uuid"),
          name: title,
          type_id: ruleType === "machine_learning" ? 4 : 1,
          type: ruleType === "machine_learning" ? "Learning (ML/DL)" : "Rule",
          category: s(v, "kibana.alert.rule.category"),
        }),
        attacks,
        created_time: created,
        first_seen_time: time(s(v, "kibana.alert.start")),
        last_seen_time: time(s(v, "kibana.alert.last_detected")),
        src_url: s(v, "kibana.alert.url"),
      }),
      ...(Object.keys(device).length ? { device } : {}),
      ...(Object.keys(user).length ? { user } : {}),
      ...(Object.keys(process).length ? { actor: compact({ process, ...(user.name ? { user } : {}) }) } : {}),
      ...(Object.keys(src).length ? { src_endpoint: src } : {}),
      ...(Object.keys(dst).length ? { dst_endpoint: dst } : {}),
      evidences: Object.keys(evidence).length ? [evidence] : [],
      metadata: compact({
        product: compact({ vendor_name: "Elastic", name: "Elastic Security", version: s(v, "kibana.version") }),
        uid,
        original_time: timeText,
        log_name: s(v, "_index") ?? ".alerts-security.alerts",
        event_code: s(v, "kibana.alert.rule.rule_id"),
        labels: buildingBlock ? [`elastic:building_block:${buildingBlock}`] : undefined,
      }),
      unmapped: compact({
        workflow_status: s(v, "kibana.alert.workflow_status"),
        rule_type: ruleType,
        rule_tags: strings(dig(v, "kibana.alert.rule.tags")),
        source_dataset: s(v, "kibana.alert.original_event.dataset"),
        source_action: s(v, "kibana.alert.original_event.action") ?? s(v, "event.action"),
        host_risk: s(v, "host.risk.calculated_level"),
        user_risk: s(v, "user.risk.calculated_level"),
        responses: list(dig(v, "Responses"))
          .map((r) => s(r, "action.action"))
          .filter((x): x is string => x !== undefined),
      }),
    };
    return draft;
  },
};
