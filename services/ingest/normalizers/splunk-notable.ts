/**
 * Splunk Enterprise Security notable events: search results from `index=notable` (fields in `_raw` as `k="v"`
 * pairs, plus any fields the search extracted), or the webhook alert action's payload (`{search_name, sid, result}`).
 */
import { stableId } from "../../shared/ids.ts";
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { compact, dict, ip, isSpaceCode, obj, port, severityFromWord, splitUser, type Obj } from "./util.ts";

const isKeyStart = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
/** `[\w.:\-{}]` */
const isKeyChar = (c: number) =>
  isKeyStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x3a || c === 0x2d || c === 0x7b || c === 0x7d;
const isSeparator = (c: number) => c === 0x2c || isSpaceCode(c);
const isLineTerminator = (c: number) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

/**
 * End (index of the closing quote) of the quoted value whose text starts at `from`, or -1 when it is not closed
 * (a backslash escapes any character but a line terminator).
 */
function quotedEnd(raw: string, from: number): number {
  for (let p = from; p < raw.length; p++) {
    const c = raw.charCodeAt(p);
    if (c === 0x22) return p;
    if (c === 0x5c) {
      if (p + 1 >= raw.length || isLineTerminator(raw.charCodeAt(p + 1))) return -1;
      p++;
    }
  }
  return -1;
}

/** A quoted value's text with `\"` and `\\` unescaped (any other backslash stays). */
function unescapeQuoted(v: string): string {
  let i = v.indexOf("\\");
  if (i < 0) return v;
  let out = "";
  let start = 0;
  while (i >= 0 && i + 1 < v.length) {
    const c = v.charCodeAt(i + 1);
    if (c === 0x22 || c === 0x5c) {
      out += v.slice(start, i);
      start = i + 1;
      i = v.indexOf("\\", i + 2);
    } else i = v.indexOf("\\", i + 1);
  }
  return out + v.slice(start);
}

/**
 * `_raw` of a stash event: `epoch, k="v", k2=v2, k="v3"` (repeated keys become lists). A key starts at the start or
 * after whitespace or a comma; a value is quoted (`\"` and `\\` unescape) or runs to the next comma or whitespace;
 * a quote that is never closed starts an unquoted value. One pass: a scan for a closing quote never covers text
 * another one scans (a quote after `=` inside it would have closed it). The field map has no prototype, so keys such
 * as `__proto__` or `constructor` are plain data.
 */
export function parseSplunkRaw(raw: string): { epoch?: string; fields: Record<string, string | string[]> } {
  const fields = dict<string | string[]>();
  const lead = /^\s*(\d{9,}(?:\.\d+)?)\s*,/.exec(raw);
  const n = raw.length;
  let i = 0;
  while (i < n) {
    const k = i === 0 && isKeyStart(raw.charCodeAt(0)) ? 0 : isSeparator(raw.charCodeAt(i)) ? i + 1 : -1;
    if (k < 0 || !isKeyStart(raw.charCodeAt(k))) {
      i++;
      continue;
    }
    let j = k + 1;
    while (j < n && isKeyChar(raw.charCodeAt(j))) j++;
    if (raw.charCodeAt(j) !== 0x3d) {
      i = j;
      continue;
    }
    let value: string;
    const close = raw.charCodeAt(j + 1) === 0x22 ? quotedEnd(raw, j + 2) : -1;
    if (close >= 0) {
      value = unescapeQuoted(raw.slice(j + 2, close));
      i = close + 1;
    } else {
      let p = j + 1;
      while (p < n && !isSeparator(raw.charCodeAt(p))) p++;
      value = raw.slice(j + 1, p);
      i = p;
    }
    const key = raw.slice(k, j);
    const prev = fields[key];
    if (prev === undefined) fields[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else fields[key] = [prev, value];
  }
  return lead ? { epoch: lead[1]!, fields } : { fields };
}

/** Fields of the notable itself, not of the event it was found in. */
const SPLUNK_META = new Set([
  "host",
  "source",
  "sourcetype",
  "index",
  "splunk_server",
  "linecount",
  "eventtype",
  "punct",
]);

const STATUS = new Map<string, readonly [number, string]>([
  ["1", [1, "New"]],
  ["new", [1, "New"]],
  ["2", [2, "In Progress"]],
  ["in progress", [2, "In Progress"]],
  ["3", [2, "In Progress"]],
  ["pending", [2, "In Progress"]],
  ["4", [4, "Resolved"]],
  ["resolved", [4, "Resolved"]],
  ["5", [4, "Resolved"]],
  ["closed", [4, "Resolved"]],
]);

const TECH = /^T\d{4}(\.\d{3})?$/i;
const TACTIC = /^TA\d{4}$/i;

/** Splunk ES notable event; see the module comment. */
export const splunkNotable: Normalizer = {
  format: "splunk_notable",
  aliases: ["splunk"],
  detect(e: RawEvent) {
    if (e.kind !== "json") return false;
    const v = e.value;
    const webhook =
      typeof v["sid"] === "string" && typeof v["search_name"] === "string" && obj(v, "result") !== undefined;
    const search =
      typeof v["_raw"] === "string" &&
      "_time" in v &&
      (v["index"] === "notable" || v["sourcetype"] === "stash" || "_cd" in v || "_bkt" in v || "_indextime" in v);
    return webhook || search;
  },
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("a Splunk notable is a JSON search result");
    const top = e.value;
    const result: Obj = obj(top, "result") ?? top;
    const raw = typeof result["_raw"] === "string" ? parseSplunkRaw(result["_raw"]) : { fields: dict<string>() };
    const f: Record<string, unknown> = Object.assign(dict<unknown>(), raw.fields);
    for (const [k, val] of Object.entries(result)) if (!k.startsWith("_") && !SPLUNK_META.has(k)) f[k] = val;
    const one = (...keys: string[]): string | undefined => {
      for (const k of keys) {
        const x = f[k];
        const y = Array.isArray(x) ? (x[0] as unknown) : x;
        if (typeof y === "string" && y.trim() !== "") return y;
        if (typeof y === "number") return String(y);
      }
      return undefined;
    };
    const many = (k: string): string[] =>
      (Array.isArray(f[k]) ? (f[k] as unknown[]) : [f[k]]).filter(
        (x): x is string => typeof x === "string" && x !== "",
      );

    const searchName =
      one("search_name") ??
      (typeof top["search_name"] === "string" ? top["search_name"] : undefined) ??
      (typeof result["source"] === "string" ? result["source"] : undefined);
    const index = typeof result["index"] === "string" ? result["index"] : undefined;
    const sourcetype = typeof result["sourcetype"] === "string" ? result["sourcetype"] : undefined;
    // A search result of another index is understood (CIM fields) but is no notable: a Base Event, not an alert.
    const notable = searchName !== undefined || index === "notable" || sourcetype === "stash";
    const title =
      one("rule_title", "rule_name") ?? searchName ?? (notable ? undefined : (sourcetype ?? "Splunk event"));
    if (!title) throw new Error("Splunk notable without rule_title, rule_name or search_name");

    const timeText =
      typeof result["_time"] === "string" || typeof result["_time"] === "number" ? String(result["_time"]) : raw.epoch;
    const t = eventTime(timeText, raw.epoch);

    const sevKey = Object.keys(f).find((k) => /(^|\.)severity(name)?$/i.test(k));
    const severity =
      severityFromWord(one("urgency")) ||
      severityFromWord(one("severity")) ||
      severityFromWord(sevKey ? one(sevKey) : undefined);
    const [status_id, status] = STATUS.get((one("status_label") ?? one("status") ?? "new").toLowerCase()) ?? [
      99,
      "Other",
    ];

    const asEndpoint = (v: string | undefined) => (v === undefined ? {} : ip(v) ? { ip: ip(v)! } : { hostname: v });
    const src = compact({ ...asEndpoint(one("src", "src_ip", "src_host")), port: port(one("src_port")) });
    const dst = compact({ ...asEndpoint(one("dest", "dest_ip", "dest_host")), port: port(one("dest_port")) });
    const deviceName = one("dest_nt_host", "dest_host", "orig_host", "dvc") ?? (dst.hostname || undefined);
    const device = compact({ ...asEndpoint(deviceName), ...(dst.ip && !ip(deviceName) ? { ip: dst.ip } : {}) });
    const userKey = Object.keys(f).find((k) => /(^|\.)user_?name$/i.test(k));
    const user = splitUser(one("user", "dest_user", "user_name") ?? (userKey ? one(userKey) : undefined));
    const srcUser = splitUser(one("src_user"));

    const tacticIds = many("annotations.mitre_attack.mitre_tactic_id");
    const tactics = many("annotations.mitre_attack.mitre_tactic");
    const techIds = many("annotations.mitre_attack.mitre_technique_id").concat(many("annotations.mitre_attack"));
    const techs = many("annotations.mitre_attack.mitre_technique");
    const attacks = Array.from(
      { length: Math.max(techIds.length, techs.length, tacticIds.length, tactics.length) },
      (_x, i) =>
        compact({
          tactic: compact({ uid: TACTIC.test(tacticIds[i] ?? "") ? tacticIds[i] : undefined, name: tactics[i] }),
          technique: compact({
            uid: TECH.test(techIds[i] ?? "") ? techIds[i]!.toUpperCase() : undefined,
            name: techs[i],
          }),
        }),
    ).filter((a) => Object.keys(a).length > 0);

    const hash = one("file_hash");
    const algorithm = hash ? { 32: "MD5", 40: "SHA-1", 64: "SHA-256" }[hash.length] : undefined;
    const file = compact({
      name: one("file_name"),
      path: one("file_path"),
      hashes: hash && algorithm ? [{ algorithm, value: hash }] : undefined,
    });
    const process = compact({ name: one("process_name", "process"), cmd_line: one("process_exec", "cmdline") });
    const urlText = one("url");
    const uid =
      one("event_id") ??
      `notable-${stableId(typeof result["_raw"] === "string" ? result["_raw"] : JSON.stringify(result))}`;
    const tags = many("orig_tag");

    if (!notable) {
      return {
        class_uid: 0,
        activity_id: 99,
        activity_name: "Other",
        time: t,
        severity_id: severity || 1,
        message: one("message", "msg", "signature") ?? title,
        ...(Object.keys(device).length ? { device } : {}),
        ...(user ? { user } : {}),
        ...(srcUser ? { actor: { user: srcUser } } : {}),
        ...(Object.keys(src).length ? { src_endpoint: src } : {}),
        ...(Object.keys(dst).length ? { dst_endpoint: dst } : {}),
        metadata: compact({
          product: { vendor_name: "Splunk", name: "Splunk" },
          original_time: timeText,
          log_name: index,
          event_code: one("signature_id", "EventCode", "action") ?? sourcetype,
        }),
        unmapped: compact({
          sourcetype,
          source: typeof result["source"] === "string" ? result["source"] : undefined,
          host: typeof result["host"] === "string" ? result["host"] : undefined,
        }),
      };
    }
    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
      severity_id: severity,
      status_id,
      status,
      message: one("rule_description") ?? title,
      is_alert: true,
      finding_info: compact({
        uid,
        title,
        desc: one("rule_description", "description"),
        types: one("security_domain") ? [one("security_domain")!] : tags,
        analytic: compact({
          uid: one("rule_id") ?? searchName,
          name: searchName ?? title,
          type_id: 1,
          type: "Rule",
          category: one("security_domain"),
        }),
        attacks,
        created_time: t,
        src_url: typeof top["results_link"] === "string" ? top["results_link"] : undefined,
      }),
      ...(Object.keys(device).length ? { device } : {}),
      ...(user ? { user } : {}),
      ...(srcUser ? { actor: { user: srcUser } } : {}),
      ...(Object.keys(src).length ? { src_endpoint: src } : {}),
      ...(Object.keys(dst).length ? { dst_endpoint: dst } : {}),
      evidences: [
        compact({
          file: Object.keys(file).length ? file : undefined,
          process: Object.keys(process).length ? process : undefined,
          url: urlText ? { url_string: urlText } : undefined,
          src_endpoint: src,
          dst_endpoint: dst,
        }),
      ].filter((ev) => Object.keys(ev).length > 0),
      metadata: compact({
        product: { vendor_name: "Splunk", name: "Enterprise Security" },
        uid: one("event_id"),
        original_time: timeText,
        log_name: index ?? "notable",
        event_code: one("rule_id") ?? searchName,
      }),
      unmapped: compact({
        action: one("action"),
        app: one("app"),
        count: one("count"),
        orig_tag: tags,
        owner: one("owner"),
        security_domain: one("security_domain"),
        splunk_server: typeof result["splunk_server"] === "string" ? result["splunk_server"] : undefined,
        info_search_time: one("info_search_time"),
      }),
    };
    return draft;
  },
};
