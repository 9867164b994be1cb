/** Shared pieces of the CEF and LEEF normalizers: syslog header stripping, CEF/LEEF parsing, times, severities. */
import { dict, ip, isSpaceCode, time } from "./util.ts";

const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const GT = 0x3e;
const LT = 0x3c;
const COLON = 0x3a;
const DOT = 0x2e;
const PIPE = 0x7c;
const SP = 0x20;

/** What an RFC 5424 or RFC 3164 header before the CEF/LEEF payload said. */
export interface SyslogHeader {
  readonly host?: string;
  readonly app?: string;
  /** Epoch ms; only RFC 5424 headers carry a year, so RFC 3164 times are not used. */
  readonly time?: number;
  readonly timeText?: string;
}

/** Hostnames or app names of log relays and collectors: never the reporting device. */
const COLLECTOR =
  /log-?fwd|log-?forward|forwarder|collector|relay|syslog|logstash|fluent|nxlog|cribl|\bwec\b|omsagent|sentinel|\bama\b/i;

/**
 * Where the `CEF:<version>|` / `LEEF:<version>|` payload starts in `line` (at the start, or after whitespace, `>` or
 * `:`), or -1. Each occurrence of the marker is checked once, over its own version digits only: linear.
 */
function markerStart(line: string, marker: "CEF" | "LEEF"): number {
  const tag = `${marker}:`;
  for (let at = line.indexOf(tag); at >= 0; at = line.indexOf(tag, at + 1)) {
    if (at > 0) {
      const p = line.charCodeAt(at - 1);
      if (!isSpaceCode(p) && p !== GT && p !== COLON) continue;
    }
    let j = digitsEnd(line, at + tag.length);
    if (j === at + tag.length) continue;
    if (line.charCodeAt(j) === DOT) {
      const k = digitsEnd(line, j + 1);
      if (k > j + 1) j = k;
    }
    if (line.charCodeAt(j) === PIPE) return at;
  }
  return -1;
}

function digitsEnd(s: string, from: number, max = Infinity): number {
  let j = from;
  while (j < s.length && j - from < max && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
  return j;
}

/**
 * The RFC 5424 header `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID` starting at `p` (the `<`), as its five
 * space-separated fields, or undefined. Reads at most those five fields.
 */
function header5424At(s: string, p: number): string[] | undefined {
  const d = digitsEnd(s, p + 1, 3);
  if (d === p + 1 || s.charCodeAt(d) !== GT || s.charCodeAt(d + 1) !== 0x31 || s.charCodeAt(d + 2) !== SP) {
    return undefined;
  }
  const fields: string[] = [];
  let i = d + 3;
  while (fields.length < 5) {
    let j = i;
    while (j < s.length && !isSpaceCode(s.charCodeAt(j))) j++;
    if (j === i) return undefined;
    fields.push(s.slice(i, j));
    if (fields.length < 5) {
      if (s.charCodeAt(j) !== SP) return undefined;
      i = j + 1;
    }
  }
  return fields;
}

/**
 * The innermost (last) RFC 5424 header in `prefix`. Candidates are tried from the right; each `<` starts at most one
 * candidate, and a candidate reads only the five fields after it, so each field is read by at most five candidates.
 */
function last5424(prefix: string): string[] | undefined {
  for (let p = prefix.lastIndexOf("<"); p >= 0; p = p === 0 ? -1 : prefix.lastIndexOf("<", p - 1)) {
    if (prefix.charCodeAt(p) !== LT) continue;
    const h = header5424At(prefix, p);
    if (h) return h;
  }
  return undefined;
}

/** RFC 3164 `<PRI>MMM dd hh:mm:ss HOST [TAG[pid]:]`; anchored, and no two parts can match the same text. */
const R3164 = /^(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}) (\S+)(?: ([^\s:[]+)(?:\[\d+\])?:)?/;

/**
 * Splits `line` at the `CEF:`/`LEEF:` marker. The text before it is one or more syslog headers (relays may stack
 * them); the innermost (last) RFC 5424 header is read, else an RFC 3164 one. Undefined when there is no marker.
 * Linear in the length of the line.
 */
export function stripSyslog(line: string, marker: "CEF" | "LEEF"): { body: string; header: SyslogHeader } | undefined {
  const start = markerStart(line, marker);
  if (start < 0) return undefined;
  const prefix = line.slice(0, start).trim();
  const body = line.slice(start);
  if (prefix === "") return { body, header: {} };
  const r5424 = last5424(prefix);
  if (r5424) {
    const [ts, host, app] = r5424;
    const t = ts && ts !== "-" ? time(ts) : undefined;
    return {
      body,
      header: {
        ...(host && host !== "-" ? { host } : {}),
        ...(app && app !== "-" ? { app } : {}),
        ...(t !== undefined ? { time: t, timeText: ts } : {}),
      },
    };
  }
  const r3164 = R3164.exec(prefix);
  if (r3164)
    return { body, header: { ...(r3164[1] ? { host: r3164[1] } : {}), ...(r3164[2] ? { app: r3164[2] } : {}) } };
  return { body, header: {} };
}

/** The syslog host as the reporting device, unless it (or its app name) looks like a relay or collector. */
export function reportingHost(h: SyslogHeader): string | undefined {
  if (!h.host || COLLECTOR.test(h.host) || (h.app && COLLECTOR.test(h.app))) return undefined;
  return h.host;
}

/** A parsed CEF record: header fields and extension (values unescaped, keys as written). */
export interface Cef {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly classId: string;
  readonly name: string;
  readonly severity: string;
  readonly ext: Record<string, string>;
}

/** Parses `CEF:0|Vendor|Product|Version|ClassId|Name|Severity|ext`; header pipes may be escaped as `\|`. Linear. */
export function parseCef(body: string): Cef {
  if (!body.startsWith("CEF:")) throw new Error("not a CEF record: it does not start with CEF:");
  const fields: string[] = [];
  let cur = "";
  let from = 4;
  let i = 4;
  for (; i < body.length && fields.length < 7; i++) {
    const c = body.charCodeAt(i);
    if (c === BACKSLASH && (body.charCodeAt(i + 1) === PIPE || body.charCodeAt(i + 1) === BACKSLASH)) {
      cur += body.slice(from, i);
      from = ++i;
    } else if (c === PIPE) {
      fields.push(cur + body.slice(from, i));
      cur = "";
      from = i + 1;
    }
  }
  if (fields.length < 7) throw new Error(`CEF header has ${fields.length + 1} of its 8 pipe-separated fields`);
  const [version, vendor, product, deviceVersion, classId, name, severity] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    version,
    vendor,
    product,
    deviceVersion,
    classId,
    name,
    severity: severity.trim(),
    ext: parseCefExtension(body.slice(i)),
  };
}

/** Characters of a CEF extension key: `[A-Za-z0-9_.\-[\]]`. */
function isCefKeyCode(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f ||
    c === DOT ||
    c === 0x2d ||
    c === 0x5b ||
    c === 0x5d
  );
}

/**
 * `k=v k2=v with spaces`: a key starts at the start or after whitespace and ends at an unescaped `=`; `\=`, `\\`,
 * `\|`, `\n` and `\r` unescape. A value runs to the whitespace before the next key, less trailing whitespace, so an
 * unescaped `=` inside a value (URLs) stays in the value. One pass over the text; the map has no prototype, so keys
 * such as `__proto__` are plain data.
 */
export function parseCefExtension(ext: string): Record<string, string> {
  const out = dict<string>();
  let key: string | undefined;
  let from = 0;
  // A key is a run of key characters at the start or after whitespace, followed by `=`: each `=` is found with
  // indexOf and the run before it walked back (a walk never passes the `=` before it), so values are not scanned.
  for (let e = ext.indexOf("="); e >= 0; e = ext.indexOf("=", e + 1)) {
    let s = e;
    while (s > 0 && isCefKeyCode(ext.charCodeAt(s - 1))) s--;
    if (s === e || (s > 0 && !isSpaceCode(ext.charCodeAt(s - 1)))) continue;
    if (key !== undefined) out[key] = unescapeCef(ext.slice(from, s - 1).trimEnd());
    key = ext.slice(s, e);
    from = e + 1;
  }
  if (key !== undefined) out[key] = unescapeCef(ext.slice(from).trimEnd());
  return out;
}

/** `\\`, `\=`, `\|`, `\n` and `\r` unescaped, left to right; any other backslash stays. */
function unescapeCef(s: string): string {
  let i = s.indexOf("\\");
  if (i < 0) return s;
  let out = "";
  let from = 0;
  while (i >= 0 && i + 1 < s.length) {
    const c = s.charCodeAt(i + 1);
    const rep =
      c === 0x6e ? "\n" : c === 0x72 ? "\r" : c === BACKSLASH || c === EQUALS || c === PIPE ? s[i + 1] : undefined;
    if (rep === undefined) i = s.indexOf("\\", i + 1);
    else {
      out += s.slice(from, i) + rep;
      from = i + 2;
      i = s.indexOf("\\", from);
    }
  }
  return out + s.slice(from);
}

/** A parsed LEEF 1.0/2.0 record. */
export interface Leef {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly eventId: string;
  readonly delimiter: string;
  readonly attrs: Record<string, string>;
}

/** A LEEF 2.0 delimiter field: one character, or its code as `x09` / `0x09`, or the two characters `\t`. */
function leefDelimiter(f: string): string | undefined {
  if (f === "\\t") return "\t";
  const hex = /^(?:0x|x)([0-9a-f]{1,4})$/i.exec(f);
  if (hex) return String.fromCharCode(parseInt(hex[1]!, 16));
  return f.length === 1 && f !== "=" ? f : undefined;
}

/**
 * Parses `LEEF:1.0|Vendor|Product|Version|EventID|attrs` and `LEEF:2.0|...|EventID|Delimiter|attrs`. A LEEF 2.0 line
 * whose delimiter field is missing (the attributes follow the event id) uses the default tab; when the attributes
 * hold no tab but the two characters `\t`, those separate them (PAN-OS templates). Linear; the attribute map has no
 * prototype, so keys such as `__proto__` are plain data.
 */
export function parseLeef(body: string): Leef {
  const head = /^LEEF:(\d+(?:\.\d+)?)\|/.exec(body);
  if (!head) throw new Error("not a LEEF record: it does not start with LEEF:<version>|");
  const version = head[1]!;
  const header: string[] = [];
  let pos = head[0].length;
  while (header.length < 4) {
    const bar = body.indexOf("|", pos);
    if (bar < 0) throw new Error(`LEEF header has ${header.length + 2} of its 6 pipe-separated fields`);
    header.push(body.slice(pos, bar));
    pos = bar + 1;
  }
  const [vendor, product, deviceVersion, eventId] = header as [string, string, string, string];
  let delimiter = "\t";
  const bar = version.startsWith("2") ? body.indexOf("|", pos) : -1;
  if (bar >= 0) {
    const field = body.slice(pos, bar);
    const d = field === "" ? "\t" : leefDelimiter(field);
    if (d !== undefined && !field.includes("=")) {
      delimiter = d;
      pos = bar + 1;
    }
  }
  let sep = delimiter;
  if (sep === "\t" && body.indexOf("\t", pos) < 0 && body.includes("\\t", pos)) sep = "\\t";
  const attrs = dict<string>();
  // The next `=` is remembered: pairs without one must not each search the rest of the line for it.
  let eq = -1;
  for (let from = pos; from <= body.length;) {
    const at = body.indexOf(sep, from);
    const end = at < 0 ? body.length : at;
    if (eq < from) {
      eq = body.indexOf("=", from);
      if (eq < 0) eq = body.length;
    }
    if (eq > from && eq < end) attrs[body.slice(from, eq).trim()] = body.slice(eq + 1, end).trimEnd();
    from = end + sep.length;
  }
  return { version, vendor, product, deviceVersion, eventId, delimiter, attrs };
}

const MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split(" ");
/** Minutes east of UTC of the zone abbreviations devices commonly print. */
const ZONES = new Map<string, number>(
  "UTC:0 GMT:0 Z:0 EST:-300 EDT:-240 CST:-360 CDT:-300 MST:-420 MDT:-360 PST:-480 PDT:-420 CET:60 CEST:120"
    .split(" ")
    .map((z) => [z.split(":")[0]!, Number(z.split(":")[1])]),
);

/** Longer than any IANA zone name: not handed to Intl. */
const MAX_ZONE_NAME = 64;

/** Minutes east of UTC of a zone (`UTC`, `+01:00`, `GMT+0100`, an IANA name, a few abbreviations) near `at`. */
function zoneOffset(z: string | undefined, at: number): number | undefined {
  if (!z) return undefined;
  const named = ZONES.get(z.toUpperCase());
  if (named !== undefined) return named;
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$/i.exec(z);
  if (m) return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
  if (!z.includes("/") || z.length > MAX_ZONE_NAME) return undefined;
  try {
    const f = new Intl.DateTimeFormat("en-US", {
      timeZone: z,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, Number(x.value)]));
    return Math.round(
      (Date.UTC(p["year"]!, p["month"]! - 1, p["day"], p["hour"], p["minute"], p["second"]) - at) / 60_000,
    );
  } catch {
    return undefined;
  }
}

/**
 * Epoch ms from a CEF/LEEF device time: epoch ms or s, ISO 8601, or `MMM dd yyyy HH:mm:ss[.SSS] [zone]`. A time
 * without a zone is read in `defaultZone` (CEF `dtz`), else UTC; unknown zone names count as UTC.
 * `MMM dd HH:mm:ss` (no year) is not a usable time.
 */
export function deviceTime(v: string | undefined, defaultZone?: string): number | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  const m = /^([A-Za-z]{3}) +(\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: +(\S+))?$/.exec(v.trim());
  if (!m) return /^[A-Za-z]{3} +\d{1,2} \d{1,2}:/.test(v.trim()) ? undefined : time(v);
  const month = MONTHS.indexOf(m[1]!.toLowerCase());
  if (month < 0) return undefined;
  const utc = Date.UTC(
    Number(m[3]),
    month,
    Number(m[2]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number((m[7] ?? "0").padEnd(3, "0")),
  );
  const offset = zoneOffset(m[8], utc) ?? zoneOffset(defaultZone, utc) ?? 0;
  return utc - offset * 60_000;
}

/**
 * When a CEF/LEEF event happened: its device time field (`deviceText`, read in `zone`), else the RFC 5424 syslog
 * header's time, else `receivedTime`. `text` is the time as written: the device field when it was read, else the
 * syslog header's.
 */
export function eventTime(
  deviceText: string | undefined,
  zone: string | undefined,
  header: SyslogHeader,
  receivedTime: number | undefined,
): { time: number | undefined; text: string | undefined } {
  const device = deviceTime(deviceText, zone);
  return { time: device ?? header.time ?? receivedTime, text: device !== undefined ? deviceText : header.timeText };
}

const SEVERITY_WORDS = new Map<string, number>([
  ["critical", 5],
  ["high", 4],
  ["medium", 3],
  ["low", 2],
  ["informational", 1],
  ["info", 1],
  ["very-low", 1],
]);

/** OCSF severity_id from a CEF 0–10 severity or word (Low, Medium, High, Very-High, Unknown). */
export function severityOf(s: string | undefined): number {
  if (s === undefined || s.trim() === "") return 0;
  const n = Number(s);
  if (Number.isFinite(n)) return n <= 0 ? 1 : n <= 3 ? 2 : n <= 6 ? 3 : n <= 8 ? 4 : 5;
  const w = s.trim().toLowerCase();
  if (w === "very-high" || w === "very high" || w === "veryhigh") return 5;
  return SEVERITY_WORDS.get(w) ?? 0;
}

/** A traffic log's severity: the device's, but Low at most (Informational when the device gives none). */
export function trafficSeverity(severity: number): number {
  return Math.min(severity || 1, 2);
}

/** Whether an address is private, loopback, link-local or CGNAT. */
export function isInternal(a: string | undefined): boolean {
  if (!ip(a)) return false;
  const s = a!.toLowerCase();
  if (s.includes(":")) return s === "::1" || /^f[cd]/.test(s) || s.startsWith("fe80:");
  const [p, q] = s.split(".").map(Number) as [number, number];
  return (
    p === 10 ||
    p === 127 ||
    (p === 172 && q >= 16 && q <= 31) ||
    (p === 192 && q === 168) ||
    (p === 169 && q === 254) ||
    (p === 100 && q >= 64 && q <= 127)
  );
}

const EXTERNAL_ZONE = /^(external|untrust(ed)?|outside|wan|internet|public)$/i;
const INTERNAL_ZONE = /^(internal|trust(ed)?|inside|lan|dmz|corp|private)$/i;

/** Traffic direction from zones, an explicit flag, or the addresses; undefined when nothing tells. */
export function directionOf(o: {
  fromZone?: string | undefined;
  toZone?: string | undefined;
  flag?: "inbound" | "outbound" | undefined;
  src?: string | undefined;
  dst?: string | undefined;
}): "inbound" | "outbound" | undefined {
  const fromExt = o.fromZone !== undefined && EXTERNAL_ZONE.test(o.fromZone);
  const toExt = o.toZone !== undefined && EXTERNAL_ZONE.test(o.toZone);
  const fromInt = o.fromZone !== undefined && INTERNAL_ZONE.test(o.fromZone);
  const toInt = o.toZone !== undefined && INTERNAL_ZONE.test(o.toZone);
  if ((fromExt && !toExt) || (toInt && !fromInt)) return "inbound";
  if ((toExt && !fromExt) || (fromInt && !toInt)) return "outbound";
  if (o.flag) return o.flag;
  if (isInternal(o.src) && o.dst !== undefined && !isInternal(o.dst)) return "outbound";
  if (isInternal(o.dst) && o.src !== undefined && !isInternal(o.src)) return "inbound";
  return undefined;
}
