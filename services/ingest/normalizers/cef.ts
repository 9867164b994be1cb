/**
 * ArcSight CEF lines (Check Point, Palo Alto Networks, CrowdStrike Falcon exports, ...), bare or behind RFC 3164 /
 * RFC 5424 syslog headers. Every CEF event becomes a Detection Finding; firewall traffic logs are accepted too, as
 * non-alert findings of Low severity at most.
 */
import { stableId } from "../../shared/ids.ts";
import {
  directionOf,
  eventTime,
  parseCef,
  reportingHost,
  severityOf,
  stripSyslog,
  trafficSeverity,
} from "./syslog-parse.ts";
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { NO_TIME } from "./finalize.ts";
import { compact, dict, hashOf, ip, port, splitUser } from "./util.ts";

/** CEF full key names → the short names used below. */
const FULL = new Map<string, string>([
  ["sourceAddress", "src"],
  ["destinationAddress", "dst"],
  ["sourcePort", "spt"],
  ["destinationPort", "dpt"],
  ["sourceUserName", "suser"],
  ["destinationUserName", "duser"],
  ["sourceUserId", "suid"],
  ["destinationUserId", "duid"],
  ["sourceNtDomain", "sntdom"],
  ["destinationNtDomain", "dntdom"],
  ["sourceHostName", "shost"],
  ["destinationHostName", "dhost"],
  ["sourceMacAddress", "smac"],
  ["destinationMacAddress", "dmac"],
  ["sourceProcessName", "sproc"],
  ["destinationProcessName", "dproc"],
  ["sourceProcessId", "spid"],
  ["destinationProcessId", "dpid"],
  ["deviceAction", "act"],
  ["message", "msg"],
  ["fileName", "fname"],
  ["fileSize", "fsize"],
  ["deviceReceiptTime", "rt"],
  ["startTime", "start"],
  ["endTime", "end"],
  ["deviceHostName", "dvchost"],
  ["deviceAddress", "dvc"],
  ["deviceTimeZone", "dtz"],
  ["transportProtocol", "proto"],
  ["requestURL", "request"],
  ["requestUrl", "request"],
  ["deviceEventCategory", "cat"],
  ["applicationProtocol", "app"],
  ["categoryOutcome", "outcome"],
  ["eventOutcome", "outcome"],
]);

const CUSTOM = /^(cs|cn|cfp|c6a|deviceCustomDate|flexString|flexNumber|flexDate)(\d)$/;
const CUSTOM_FULL = /^deviceCustom(String|Number|FloatingPoint|IPv6Address)(\d)(Label)?$/;
const CUSTOM_SHORT = new Map([
  ["String", "cs"],
  ["Number", "cn"],
  ["FloatingPoint", "cfp"],
  ["IPv6Address", "c6a"],
]);

/**
 * Extension with short key names, and the labelled custom fields (`cs1=v cs1Label=Rule` → `{ Rule: v }`). Both maps
 * have no prototype: keys and labels are the sender's data (`__proto__`, `constructor` included).
 */
function canonical(ext: Record<string, string>): { x: Record<string, string>; custom: Record<string, string> } {
  const x = dict<string>();
  for (const k of Object.keys(ext)) {
    const v = ext[k] as string;
    const full = k.startsWith("deviceCustom") ? CUSTOM_FULL.exec(k) : null;
    const key = full ? `${CUSTOM_SHORT.get(full[1]!)}${full[2]}${full[3] ?? ""}` : (FULL.get(k) ?? k);
    if (v !== "") x[key] = v;
  }
  const custom = dict<string>();
  for (const k of Object.keys(x)) {
    // CUSTOM's names start with c, d or f: the others are not tried against it.
    const c = k.charCodeAt(0);
    if ((c === 99 || c === 100 || c === 102) && CUSTOM.test(k)) custom[x[`${k}Label`] ?? k] = x[k] as string;
  }
  return { x, custom };
}

/** A custom field by one of its (case-insensitive) labels. */
function labelled(custom: Record<string, string>, ...labels: string[]): string | undefined {
  const want = labels.map((l) => l.toLowerCase());
  for (const [k, v] of Object.entries(custom)) if (want.includes(k.toLowerCase())) return v;
  return undefined;
}

const TRAFFIC_CLASS = /^(traffic|log|connection|session|flow|firewall ?match ?event)$/i;
const THREAT_KEYS = ["cp_severity", "protection_name", "protection_type", "malware_action", "malware_family", "attack"];

type Ep = {
  ip?: string | undefined;
  port?: number | undefined;
  hostname?: string | undefined;
  mac?: string | undefined;
  uid?: string | undefined;
};
const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;

function urlOf(u: string | undefined) {
  if (!u) return undefined;
  try {
    const p = new URL(/^[a-z][\w+.-]*:\/\//i.test(u) ? u : `http://${u}`);
    return compact({ url_string: u, hostname: p.hostname || undefined, path: p.pathname || undefined });
  } catch {
    return { url_string: u };
  }
}

/** ArcSight Common Event Format; see the module comment. */
export const cef: Normalizer = {
  format: "cef",
  aliases: ["checkpoint", "paloalto"],
  detect: (e: RawEvent) => e.kind === "text" && /(?:^|[\s>:])CEF:\d+\|[^|]*\|/.test(e.value),
  normalize(e: RawEvent) {
    if (e.kind !== "text") throw new Error("CEF is a text line: send the raw CEF line, not JSON");
    const split = stripSyslog(e.value, "CEF");
    if (!split) throw new Error("no CEF:<version>| header in the line");
    const { body, header } = split;
    const c = parseCef(body);
    const { x, custom } = canonical(c.ext);

    const timeText = x["rt"] ?? x["end"] ?? x["start"];
    // Neither rt/end/start nor a syslog header time: finalize puts the received time there and marks the event.
    const read = eventTime(timeText, x["dtz"], header, undefined);
    const t = read.time ?? NO_TIME;
    const originalTime = read.text ?? timeText;

    const traffic = (TRAFFIC_CLASS.test(c.classId) || TRAFFIC_CLASS.test(c.name)) && !THREAT_KEYS.some((k) => k in x);
    const vendorSeverity = severityOf(c.severity) || severityOf(x["deviceSeverity"]) || severityOf(x["cp_severity"]);
    const severity = traffic ? trafficSeverity(vendorSeverity) : vendorSeverity;

    let src: Ep = compact({
      ip: ip(x["src"]) ?? ip(labelled(custom, "Source IPv6 Address")),
      port: port(x["spt"]),
      hostname: x["shost"],
      mac: x["smac"],
    });
    let dst: Ep = compact({
      ip: ip(x["dst"]) ?? ip(labelled(custom, "Destination IPv6 Address")),
      port: port(x["dpt"]),
      hostname: x["dhost"],
      mac: x["dmac"],
    });
    const flag = x["deviceDirection"] === "0" ? "inbound" : x["deviceDirection"] === "1" ? "outbound" : undefined;
    let direction = directionOf({
      fromZone: x["inzone"] ?? labelled(custom, "FromZone", "Source Zone", "From Zone"),
      toZone: x["outzone"] ?? labelled(custom, "ToZone", "Destination Zone", "To Zone"),
      flag,
      src: src.ip,
      dst: dst.ip,
    });
    let device: Ep = compact({ ...(direction === "outbound" ? src : dst), port: undefined });

    // CrowdStrike Falcon exports: the endpoint itself is hostName/localAddress, the peer is remoteAddress.
    if (x["localAddress"] !== undefined || x["remoteAddress"] !== undefined) {
      const local = compact({ ip: ip(x["localAddress"]), port: port(x["localPort"]), hostname: x["hostName"] });
      const remote = compact({ ip: ip(x["remoteAddress"]), port: port(x["remotePort"]) });
      direction =
        x["connectionDirection"] === "1" ? "inbound" : x["connectionDirection"] === "0" ? "outbound" : direction;
      [src, dst] = direction === "inbound" ? [remote, local] : [local, remote];
      device = compact({ ...local, port: undefined, uid: x["deviceId"] });
    }

    const suser = splitUser(x["suser"], x["sntdom"]);
    const duser = splitUser(x["duser"], x["dntdom"]);
    const target = direction === "outbound" ? (suser ?? duser) : (duser ?? suser);
    const user = target && compact({ ...target, uid: target === suser ? x["suid"] : x["duid"] });

    const processName = x["sproc"] ?? x["dproc"] ?? (x["imageFileName"] ? baseName(x["imageFileName"]) : undefined);
    const process = compact({
      name: processName,
      pid: int(x["spid"] ?? x["dpid"]),
      cmd_line: x["cmdLine"],
      file: x["imageFileName"]?.match(/[\\/]/)
        ? { path: x["imageFileName"], name: baseName(x["imageFileName"]) }
        : undefined,
    });
    const hash = hashOf(x["fileHash"]);
    const file = compact({
      name: x["fname"],
      path: x["filePath"],
      size: int(x["fsize"]),
      hashes: hash ? [hash] : undefined,
    });
    const url = urlOf(x["request"]);

    const category = x["cat"]?.toLowerCase() === "unknown" ? undefined : x["cat"];
    const ruleName = labelled(custom, "Rule", "Rule Name") ?? x["ruleName"] ?? x["rule_name"];
    // A bare code as Name (PAN-OS "THREAT", Check Point "https") is a poor title: prefer a descriptive cat.
    const title = /\s/.test(c.name)
      ? c.name
      : category && /\s/.test(category)
        ? category
        : c.classId && c.classId !== c.name && !/^\d+$/.test(c.classId)
          ? `${c.classId}: ${c.name}`
          : c.name || c.classId;
    if (!title) throw new Error("CEF header has neither a Name nor a Device Event Class ID");
    const vendorId = [
      x["loguid"],
      x["eventId"],
      x["externalId"] !== x["deviceExternalId"] ? x["externalId"] : undefined,
    ].find((v) => v !== undefined);
    const reporter = compact({
      hostname: x["dvchost"] ?? reportingHost(header),
      ip: ip(x["dvc"]) ?? ip(x["origin"]),
      uid: x["deviceExternalId"],
    });

    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
      severity_id: severity,
      status_id: 1,
      status: "New",
      message: x["msg"] ?? title,
      is_alert: !traffic,
      finding_info: compact({
        uid: vendorId ?? `cef-${stableId(body)}`,
        title,
        desc: x["msg"],
        types: [category ?? c.classId].filter((v) => v !== ""),
        analytic: compact({
          uid: x["rule_uid"] ?? labelled(custom, "Rule UID") ?? (c.classId || undefined),
          name: ruleName ?? title,
          type_id: 1,
          type: "Rule",
          category,
        }),
        created_time: t,
      }),
      ...(Object.keys(device).length ? { device } : {}),
      ...(user ? { user } : {}),
      ...(suser ? { actor: { user: compact({ ...suser, uid: x["suid"] }) } } : {}),
      ...(Object.keys(src).length ? { src_endpoint: src } : {}),
      ...(Object.keys(dst).length ? { dst_endpoint: dst } : {}),
      evidences: [
        compact({
          src_endpoint: src,
          dst_endpoint: dst,
          process: Object.keys(process).length ? process : undefined,
          file: Object.keys(file).length ? file : undefined,
          url,
        }),
      ].filter((ev) => Object.keys(ev).length > 0),
      metadata: compact({
        product: compact({
          vendor_name: c.vendor || "Unknown",
          name: c.product || "Unknown",
          version: c.deviceVersion || undefined,
        }),
        uid: vendorId,
        original_time: originalTime,
        log_name: traffic ? "cef traffic" : "cef",
        event_code: c.classId || undefined,
      }),
      unmapped: compact({
        action: x["act"],
        outcome: x["outcome"],
        protocol: x["proto"],
        app: x["app"],
        direction,
        reporting_device: reporter,
        syslog_host: header.host,
        nat: compact({ src: x["sourceTranslatedAddress"], dst: x["destinationTranslatedAddress"] }),
        custom,
      }),
    };
    return draft;
  },
};
