/**
 * Zeek notice.log (JSON) as Detection Findings; every other Zeek log (conn, dns, http, ssl, ...) as the OCSF activity
 * it records (zeek-activity.ts).
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { zeekActivity, zeekLogOf } from "./zeek-activity.ts";
import { compact, get, ip, port, str } from "./util.ts";
import { eventTime } from "./finalize.ts";

/**
 * Zeek notices carry no severity: it is inferred from the notice type (first match wins, default Medium).
 * Sensor health and certificate hygiene are low; confirmed compromise and intel hits are high.
 */
const SEVERITY_BY_NOTE: ReadonlyArray<readonly [RegExp, number]> = [
  [/^Heartbleed::SSL_Heartbeat_Attack_Success$/, 5],
  [/^(Intel::|TeamCymruMalwareHashRegistry::|Heartbleed::|CVE_2020_0601::)/, 4],
  [/^(SSH::Login_By_Password_Guesser|HTTP::SQL_Injection_Attacker|FTP::Site_Exec_Success)$/, 4],
  [/^(CaptureLoss|PacketFilter|Weird|Software|Reporter|Notice|Conn|Stats|Cluster|Broker)::/, 1],
  [/^SSL::/, 2],
  [/^(DNS::External_Name|SMTP::|ProtocolDetector::|Traceroute::)/, 2],
];

/** Notice types of the notice log (not a Zeek `_path` of telemetry). */
const NOTICE_PATHS = new Set(["notice", "notice_alarm"]);

/** A Zeek field by its flattened name (`id.orig_h`), also when the exporter nests it (`id: {orig_h}`). */
function field(v: Readonly<Record<string, unknown>>, name: string): unknown {
  return name in v ? v[name] : get(v, name);
}

/** A non-empty string Zeek field (see `field`). */
function fstr(v: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const x = field(v, name);
  return typeof x === "string" && x.trim() !== "" ? x : undefined;
}

/** OCSF severity_id of a notice type. */
export function zeekNoticeSeverity(note: string): number {
  return SEVERITY_BY_NOTE.find(([re]) => re.test(note))?.[1] ?? 3;
}

/** Zeek JSON logs: notice.log lines (`note`, `msg`, `ts`) are findings; other logs are recognised and mapped. */
export const zeekNotice: Normalizer = {
  format: "zeek_notice",
  aliases: ["zeek"],
  detect(e: RawEvent) {
    if (e.kind !== "json") return false;
    const v = e.value;
    if (!("ts" in v)) return false;
    // Every Zeek log the JSON writer labels with `_path`; unlabelled ones by Zeek's own connection or file ids.
    if (typeof v["_path"] === "string") return true;
    if ("uid" in v && ip(field(v, "id.orig_h")) !== undefined) return true;
    if (typeof v["fuid"] === "string" && ("tx_hosts" in v || "seen_bytes" in v || "analyzers" in v)) return true;
    return (
      typeof v["note"] === "string" &&
      /^[A-Za-z0-9_]+::[A-Za-z0-9_]+$/.test(v["note"]) &&
      ("msg" in v || "actions" in v || "suppress_for" in v)
    );
  },
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("Zeek notice.log is JSON");
    const v = e.value;
    const log = zeekLogOf(v);
    if (!NOTICE_PATHS.has(log)) return zeekActivity(v, log);
    const note = str(v, "note");
    if (!note) throw new Error("Zeek notice without `note` (the notice type, e.g. Scan::Port_Scan)");
    const t = eventTime(v["ts"]);
    const msg = str(v, "msg");
    const uid = fstr(v, "uid");
    const origH = ip(field(v, "id.orig_h"));
    const srcIp = ip(v["src"]) ?? origH;
    const respH = ip(field(v, "id.resp_h"));
    const dstIp = ip(v["dst"]) ?? respH;
    const src = compact({
      ip: srcIp,
      port: srcIp !== undefined && srcIp === origH ? port(field(v, "id.orig_p")) : undefined,
    });
    const dst = compact({
      ip: dstIp,
      port: port(v["p"]) ?? (dstIp !== undefined && dstIp === respH ? port(field(v, "id.resp_p")) : undefined),
    });
    const proto = fstr(v, "proto");
    const fileDesc = str(v, "file_desc");
    const actions = Array.isArray(v["actions"]) ? v["actions"].filter((a): a is string => typeof a === "string") : [];
    const identity = [note, String(v["ts"]), uid ?? "", srcIp ?? "", dstIp ?? "", str(v, "sub") ?? ""].join("|");
    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
      severity_id: zeekNoticeSeverity(note),
      status_id: 1,
      status: "New",
      message: msg ?? note,
      is_alert: true,
      finding_info: compact({
        uid: identity,
        title: note,
        desc: msg,
        types: [note],
        analytic: { uid: note, name: note, type_id: 1, type: "Rule", category: note.split("::")[0] ?? note },
        created_time: t,
      }),
      src_endpoint: src,
      dst_endpoint: dst,
      evidences:
        Object.keys(src).length + Object.keys(dst).length > 0
          ? [compact({ src_endpoint: src, dst_endpoint: dst })]
          : [],
      metadata: compact({
        product: { vendor_name: "Zeek", name: "Zeek" },
        uid: identity,
        correlation_uid: uid,
        original_time: typeof v["ts"] === "number" ? String(v["ts"]) : str(v, "ts"),
        log_name: "notice",
        event_code: note,
      }),
      unmapped: compact({
        sub: str(v, "sub"),
        proto,
        fuid: str(v, "fuid"),
        file_mime_type: str(v, "file_mime_type"),
        file_desc: fileDesc,
        n: typeof v["n"] === "number" ? v["n"] : undefined,
        actions,
        dropped: typeof v["dropped"] === "boolean" ? v["dropped"] : undefined,
        suppress_for: typeof v["suppress_for"] === "number" ? v["suppress_for"] : undefined,
        sensor: str(v, "peer_descr") ?? str(v, "peer_name"),
      }),
    };
    return compact(draft);
  },
};
