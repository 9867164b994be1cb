/**
 * Wazuh alerts: Wazuh 5.x findings (ECS documents with `wazuh.rule` / `wazuh.agent`, `event.original`)
 * and classic Wazuh 4.x alerts (alerts.json / wazuh-alerts-*: `rule.level`, `agent.name`, `data.srcip`).
 */
import { stableId } from "../../shared/ids.ts";
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, baseName, compact, get, hashesBy, ip, num, obj, port, severityFromWord, str } from "./util.ts";
import { eventTime } from "./finalize.ts";
import { pairAttacks, type AttackRef } from "./mitre-util.ts";

/** Agent modules whose findings are about the agent's own host (FIM, vulnerability detection, SCA, ...). */
const AGENT_LOCAL = /^wazuh[.-](fim|vd|sca|syscheck|rootcheck|syscollector|inventory)$/;

const strings = (o: unknown, path: string): string[] =>
  arr(o, path).filter((x): x is string => typeof x === "string" && x.trim() !== "");

/** OCSF severity_id from a Wazuh 4.x rule level (0–16): 12–14 high, 15+ critical. */
export function wazuhLevelSeverity(level: number): number {
  if (level >= 15) return 5;
  if (level >= 12) return 4;
  if (level >= 7) return 3;
  if (level >= 4) return 2;
  return 1;
}

/** ATT&CK entries from parallel id/name arrays; a single tactic is attached to every technique. */
function attacksOf(tacticIds: string[], tacticNames: string[], techIds: string[], techNames: string[]): AttackRef[] {
  const tactics = (tacticIds.length ? tacticIds : tacticNames).map((_, i) =>
    compact({ uid: tacticIds[i], name: tacticNames[i] }),
  );
  const techniques = (techIds.length ? techIds : techNames).map((_, i) =>
    compact({ uid: techIds[i], name: techNames[i] }),
  );
  return pairAttacks(tactics, techniques);
}

function hashesOf(h: Obj | undefined, suffix = ""): Array<{ algorithm: string; value: string }> {
  return hashesBy(["md5", "sha1", "sha256", "sha512"], (a) => {
    const value = str(h, a + suffix);
    return value && /^[0-9a-f]+$/i.test(value) ? value : undefined;
  });
}

/** The common part of a Wazuh finding, whichever generation produced it. */
interface Parts {
  readonly t: number;
  readonly originalTime: string;
  readonly uid: string;
  readonly title: string;
  readonly ruleId: string | undefined;
  readonly ruleName: string | undefined;
  readonly severity: number;
  readonly desc: string | undefined;
  readonly types: string[];
  readonly attacks: AttackRef[];
  readonly logName: string | undefined;
  readonly correlation: string | undefined;
}

function draftOf(p: Parts, rest: Partial<Draft> & { evidences?: Array<Record<string, unknown>> }): Draft {
  return compact({
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: p.t,
    severity_id: p.severity,
    status_id: 1,
    status: "New",
    message: p.title,
    is_alert: true,
    finding_info: compact({
      uid: p.uid,
      title: p.title,
      desc: p.desc,
      types: p.types,
      analytic: compact({ uid: p.ruleId, name: p.ruleName ?? p.title, type_id: 1, type: "Rule" }),
      attacks: p.attacks,
      created_time: p.t,
    }),
    ...rest,
    evidences: (rest.evidences ?? []).map((ev) => compact(ev)).filter((ev) => Object.keys(ev).length > 0),
    metadata: compact({
      product: { vendor_name: "Wazuh", name: "Wazuh" },
      uid: p.uid,
      correlation_uid: p.correlation,
      original_time: p.originalTime || undefined,
      log_name: p.logName,
      event_code: p.ruleId,
    }),
  } as Draft);
}

/** The event's time, NO_TIME when absent or unreadable (finalize then puts the received time there). */
function timeOf(v: Obj, key: string): { t: number; originalTime: string } {
  const raw = str(v, key);
  return { t: eventTime(raw), originalTime: raw ?? "" };
}

/**
 * A Wazuh 5.x event no rule matched (wazuh-events-*): understood telemetry, kept as a Base Event with its host, user,
 * addresses and ECS action, for the rules to take or leave.
 */
function eventOf5(v: Obj): Draft {
  const agent = obj(v, "wazuh.agent");
  const host = obj(v, "host") ?? obj(agent, "host");
  const action = str(v, "event.action") ?? str(v, "event.code");
  const dataset = str(v, "event.dataset") ?? str(v, "wazuh.integration.name");
  const { t, originalTime } = timeOf(v, "@timestamp");
  const userName = str(v, "user.name");
  return compact({
    class_uid: 0,
    activity_id: 99,
    activity_name: "Other",
    time: t,
    severity_id: severityFromWord(str(v, "log.level")) || 1,
    message: str(v, "message") ?? ([dataset, action].filter(Boolean).join(" ") || "Wazuh event"),
    device: compact({
      hostname: str(host, "hostname") ?? str(host, "name") ?? str(agent, "name"),
      ip: ip(arr(host, "ip")[0] ?? get(host, "ip")),
      uid: str(v, "host.id") ?? str(agent, "id"),
    }),
    ...(userName ? { user: compact({ name: userName, uid: str(v, "user.id"), domain: str(v, "user.domain") }) } : {}),
    src_endpoint: compact({ ip: ip(get(v, "source.ip")), port: port(get(v, "source.port")) }),
    dst_endpoint: compact({ ip: ip(get(v, "destination.ip")), port: port(get(v, "destination.port")) }),
    metadata: compact({
      product: { vendor_name: "Wazuh", name: "Wazuh" },
      uid: str(v, "event.id"),
      original_time: originalTime || undefined,
      log_name: dataset,
      event_code: action,
    }),
    unmapped: compact({ agent: compact({ id: str(agent, "id"), name: str(agent, "name") }) }),
  });
}

/** Wazuh 5.x finding: ECS fields plus `wazuh.rule`, `wazuh.agent`, `wazuh.integration`. */
function normalize5(v: Obj): Draft {
  const rule = obj(v, "wazuh.rule");
  if (!rule) return eventOf5(v);
  const title = str(rule, "title") ?? str(rule, "description") ?? str(rule, "name");
  if (!title) throw new Error("Wazuh finding without wazuh.rule.title");
  const { t, originalTime } = timeOf(v, "@timestamp");
  const agent = obj(v, "wazuh.agent");
  const integration = str(v, "wazuh.integration.name");
  const dataset = str(v, "event.dataset");
  const agentLocal =
    !obj(v, "host") && !obj(v, "cloud") && (AGENT_LOCAL.test(dataset ?? "") || AGENT_LOCAL.test(integration ?? ""));
  const hostSrc = agentLocal ? obj(agent, "host") : obj(v, "host");
  const level = get(rule, "level");
  const mitre = obj(rule, "mitre");
  const eventId = str(v, "event.id");
  const original = str(v, "event.original") ?? str(v, "message") ?? "";
  const p: Parts = {
    t,
    originalTime,
    uid: stableId("wazuh", str(agent, "id") ?? "", str(rule, "id") ?? title, eventId ?? "", originalTime, original),
    title,
    ruleId: str(rule, "id"),
    ruleName: str(rule, "name"),
    severity: typeof level === "number" ? wazuhLevelSeverity(level) : severityFromWord(str(rule, "level")),
    desc: str(v, "rule.description") ?? str(v, "message"),
    types: strings(rule, "tags"),
    attacks: attacksOf(
      strings(mitre, "tactic.id"),
      strings(mitre, "tactic.name"),
      [...strings(mitre, "technique.id"), ...strings(mitre, "subtechnique.id")],
      [...strings(mitre, "technique.name"), ...strings(mitre, "subtechnique.name")],
    ),
    logName: dataset ?? integration,
    correlation: eventId,
  };
  const device = compact({
    hostname: str(hostSrc, "hostname") ?? str(hostSrc, "name") ?? (agentLocal ? str(agent, "name") : undefined),
    ip: ip(arr(hostSrc, "ip")[0] ?? get(hostSrc, "ip")),
    uid: str(v, "host.id") ?? str(v, "cloud.instance.id") ?? (agentLocal ? str(agent, "id") : undefined),
    os: compact({
      name: str(hostSrc, "os.name"),
      type: str(hostSrc, "os.platform"),
      version: str(hostSrc, "os.version"),
    }),
  });
  const user = compact({
    name: str(v, "user.name"),
    uid: str(v, "user.id"),
    email_addr: str(v, "user.email"),
    domain: str(v, "user.domain"),
    full_name: str(v, "user.full_name"),
  });
  const src = compact({
    ip: ip(get(v, "source.ip")) ?? ip(get(v, "client.ip")),
    port: port(get(v, "source.port")),
    hostname: ip(get(v, "source.domain")) ? undefined : str(v, "source.domain"),
  });
  const dst = compact({
    ip: ip(get(v, "destination.ip")),
    port: port(get(v, "destination.port")),
    hostname: str(v, "destination.domain"),
  });
  const process = compact({
    name: str(v, "process.name"),
    pid: num(v, "process.pid"),
    cmd_line: str(v, "process.command_line"),
    file: compact({
      path: str(v, "process.executable"),
      name: baseName(str(v, "process.executable")),
      hashes: hashesOf(obj(v, "process.hash")),
    }),
    parent_process: compact({
      name: str(v, "process.parent.name"),
      pid: num(v, "process.parent.pid"),
      cmd_line: str(v, "process.parent.command_line"),
    }),
  });
  const filePath = str(v, "file.path");
  const file = compact({
    path: filePath,
    name: str(v, "file.name") ?? baseName(filePath),
    hashes: hashesOf(obj(v, "file.hash")),
    size: num(v, "file.size"),
  });
  const url = compact({
    url_string: str(v, "url.original") ?? str(v, "url.full"),
    hostname: str(v, "url.domain"),
    path: str(v, "url.path"),
  });
  const dns = str(v, "dns.question.name");
  return draftOf(p, {
    device,
    user,
    src_endpoint: src,
    dst_endpoint: dst,
    evidences: [
      { process, file, url, ...(dns ? { query: { hostname: dns } } : {}), src_endpoint: src, dst_endpoint: dst },
    ],
    unmapped: compact({
      agent: compact({ id: str(agent, "id"), name: str(agent, "name"), hostname: str(agent, "host.hostname") }),
      integration,
      event_action: str(v, "event.action"),
      event_code: str(v, "event.code"),
      source_rule: str(v, "rule.name"),
      cloud: compact({
        provider: str(v, "cloud.provider"),
        account: str(v, "cloud.account.id"),
        region: str(v, "cloud.region"),
      }),
      vulnerability: compact({
        id: str(v, "vulnerability.id"),
        severity: str(v, "vulnerability.severity"),
        score: num(v, "vulnerability.score.base"),
      }),
      package: compact({ name: str(v, "package.name"), version: str(v, "package.version") }),
    }),
  });
}

/** Classic Wazuh 4.x alert (alerts.json, wazuh-alerts-* index). */
function normalize4(v: Obj): Draft {
  const rule = obj(v, "rule");
  const title = str(rule, "description");
  const level = num(rule, "level");
  if (!title || level === undefined) throw new Error("Wazuh alert without rule.description and rule.level");
  const { t, originalTime } = v["timestamp"] !== undefined ? timeOf(v, "timestamp") : timeOf(v, "@timestamp");
  const agentId = str(v, "agent.id");
  const manager = agentId === "000";
  const data = obj(v, "data") ?? {};
  const alertId = str(v, "id");
  const p: Parts = {
    t,
    originalTime,
    uid: alertId ?? stableId("wazuh", agentId ?? "", str(rule, "id") ?? title, originalTime, str(v, "full_log") ?? ""),
    title,
    ruleId: str(rule, "id"),
    ruleName: undefined,
    severity: wazuhLevelSeverity(level),
    desc: str(v, "full_log"),
    types: strings(rule, "groups"),
    attacks: attacksOf([], strings(rule, "mitre.tactic"), strings(rule, "mitre.id"), strings(rule, "mitre.technique")),
    logName: str(v, "location"),
    correlation: undefined,
  };
  const hostname = (manager ? str(v, "predecoder.hostname") : undefined) ?? str(v, "agent.name");
  const userName =
    str(data, "dstuser") ??
    str(data, "srcuser") ??
    str(v, "dstuser") ??
    str(v, "srcuser") ??
    str(data, "win.eventdata.targetUserName") ??
    str(data, "win.eventdata.subjectUserName");
  const src = compact({ ip: ip(data["srcip"]) ?? ip(v["srcip"]), port: port(data["srcport"]) });
  const dst = compact({ ip: ip(data["dstip"]), port: port(data["dstport"]) });
  const sysPath = str(v, "syscheck.path");
  const file = compact({ path: sysPath, name: baseName(sysPath), hashes: hashesOf(obj(v, "syscheck"), "_after") });
  const url = str(data, "url");
  return draftOf(p, {
    device: compact({ hostname, ip: ip(get(v, "agent.ip")), uid: agentId }),
    user: compact({ name: userName }),
    src_endpoint: src,
    dst_endpoint: dst,
    evidences: [{ file, src_endpoint: src, dst_endpoint: dst, ...(url ? { url: { url_string: url } } : {}) }],
    unmapped: compact({
      manager: str(v, "manager.name"),
      decoder: str(v, "decoder.name"),
      location: str(v, "location"),
      firedtimes: num(rule, "firedtimes"),
      level,
      syscheck_event: str(v, "syscheck.event"),
      pci_dss: strings(rule, "pci_dss"),
    }),
  });
}

/** A Wazuh 5.x document: `wazuh.rule` or `wazuh.agent` (detection also wants `@timestamp`; normalizing does not). */
const isWazuh5Shape = (v: Obj) =>
  obj(v, "wazuh") !== undefined && (obj(v, "wazuh.rule") !== undefined || obj(v, "wazuh.agent") !== undefined);
const isWazuh5 = (v: Obj) => isWazuh5Shape(v) && "@timestamp" in v;

const isWazuh4 = (v: Obj) =>
  typeof get(v, "rule.level") === "number" &&
  typeof get(v, "rule.description") === "string" &&
  obj(v, "agent") !== undefined &&
  get(v, "agent.id") !== undefined &&
  ("timestamp" in v || "@timestamp" in v) &&
  (obj(v, "manager") !== undefined || obj(v, "decoder") !== undefined || typeof v["location"] === "string");

/** Wazuh 5.x findings and 4.x alerts; 5.x events without a rule match are Base Events. */
export const wazuh: Normalizer = {
  format: "wazuh",
  aliases: ["wazuh"],
  detect: (e: RawEvent) => e.kind === "json" && (isWazuh5(e.value) || isWazuh4(e.value)),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("Wazuh alerts are JSON");
    if (isWazuh5Shape(e.value)) return normalize5(e.value);
    if (obj(e.value, "rule") && obj(e.value, "agent")) return normalize4(e.value);
    throw new Error("neither a Wazuh 5.x finding (wazuh.rule) nor a Wazuh 4.x alert (rule.level, agent)");
  },
};
