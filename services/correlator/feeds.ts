/**
 * Threat-intel feed parsers for `riposte lists import`: STIX 2.1 bundles, MISP event and attribute exports, CSV by
 * column name and plain text. Pure, linear in the input and bounded: each gives the entries in canonical form
 * (lists.ts), with their expiry when the feed states one, and the records it skipped with the reason.
 */
import { canonicalIndicator, type IndicatorType } from "./lists.ts";

export const FEED_FORMATS = ["csv", "stix", "misp", "text"] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** One indicator of a feed. `expires` (ms since the epoch) when the feed gives one; the import's TTL otherwise. */
export interface FeedEntry {
  readonly value: string;
  readonly type: IndicatorType;
  readonly expires?: number;
}

export interface Skipped {
  /** Where: `line 12`, `objects[3]`, `Attribute[7]`. */
  readonly at: string;
  readonly reason: string;
}

export interface FeedResult {
  readonly entries: FeedEntry[];
  /** The records read (lines, rows, indicators, attributes), taken or skipped. */
  readonly records: number;
  /** The first MAX_SKIPPED skipped records; `skippedCount` counts them all. */
  readonly skipped: Skipped[];
  readonly skippedCount: number;
}

export interface FeedOptions {
  /** The time expiries are compared with: entries that expired already are skipped. */
  readonly nowMs: number;
  /** CSV: the column holding the indicator (default: the first named indicator, value or ioc). */
  readonly column?: string | undefined;
  /** MISP: only attributes flagged `to_ids`. */
  readonly toIdsOnly?: boolean | undefined;
}

/** Most entries one import takes; a feed beyond this is refused rather than half loaded. */
export const MAX_ENTRIES = 2_000_000;
/** Skipped records reported by reason (all are counted). */
const MAX_SKIPPED = 50;
/** Longest STIX pattern parsed; real indicator patterns are far shorter. */
const MAX_PATTERN = 65_536;

class Collector {
  readonly entries: FeedEntry[] = [];
  readonly skipped: Skipped[] = [];
  skippedCount = 0;
  records = 0;
  private readonly nowMs: number;
  constructor(nowMs: number) {
    this.nowMs = nowMs;
  }

  skip(at: string, reason: string): void {
    this.skippedCount++;
    if (this.skipped.length < MAX_SKIPPED) this.skipped.push({ at, reason });
  }

  /** Adds `raw` if it is of one of `kinds` (any kind when omitted); false (and skipped) otherwise. */
  add(at: string, raw: string, expires: number | undefined, kinds?: readonly IndicatorType[]): boolean {
    const e = canonicalIndicator(raw);
    if (!e) {
      this.skip(at, "empty value");
      return false;
    }
    if (e.type === "other" || (kinds && !kinds.includes(e.type))) {
      const wanted = kinds ? kinds.join(" or ") : "an IP, CIDR, domain, URL or hash";
      this.skip(at, `"${raw.slice(0, 80)}" is not ${kinds ? `a ${wanted}` : wanted}`);
      return false;
    }
    if (expires !== undefined && expires <= this.nowMs) {
      this.skip(at, `expired at ${new Date(expires).toISOString()}`);
      return false;
    }
    if (this.entries.length >= MAX_ENTRIES) throw new Error(`the feed has more than ${MAX_ENTRIES} entries`);
    this.entries.push(expires === undefined ? { value: e.value, type: e.type } : { ...e, expires });
    return true;
  }

  result(): FeedResult {
    return { entries: this.entries, records: this.records, skipped: this.skipped, skippedCount: this.skippedCount };
  }
}

// --- text ---------------------------------------------------------------------------------------------------

/** One indicator per line; `#` starts a comment at the start of a line or after a space (URLs keep fragments). */
export function parseText(text: string, opts: FeedOptions): FeedResult {
  const c = new Collector(opts.nowMs);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).trim();
    const hash = line.startsWith("#") ? 0 : line.search(/\s#/);
    if (hash >= 0) line = line.slice(0, hash).trim();
    if (line === "") continue;
    c.records++;
    c.add(`line ${i + 1}`, line, undefined);
  }
  return c.result();
}

// --- CSV (RFC 4180) -----------------------------------------------------------------------------------------

/** Records of an RFC 4180 CSV text with the line each starts on: quoted fields may hold commas, `""` and newlines. */
export function csvRecords(text: string): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = 0;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) out.push({ line: start, fields });
    fields = [];
    field = "";
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
    i++;
  }
  if (field !== "" || fields.length > 0) endRecord();
  return out;
}

const VALUE_COLUMNS = ["indicator", "value", "ioc"];
const EXPIRY_COLUMNS = ["expires", "expiry", "expiration", "valid_until"];

/** An expiry cell: ISO 8601, or epoch seconds (or milliseconds when it is that large). */
function expiryOf(cell: string): number | undefined | "bad" {
  const s = cell.trim();
  if (s === "") return undefined;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? n * 1000 : n;
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? "bad" : t;
}

/** CSV with a header row; the indicator is taken from `opts.column`, an `expires`-like column gives the expiry. */
export function parseCsv(text: string, opts: FeedOptions): FeedResult {
  const c = new Collector(opts.nowMs);
  const records = csvRecords(text);
  const header = (records[0]?.fields ?? []).map((h) => h.trim().toLowerCase());
  const wanted = opts.column?.trim().toLowerCase();
  const col = wanted !== undefined ? header.indexOf(wanted) : header.findIndex((h) => VALUE_COLUMNS.includes(h));
  if (col < 0) {
    throw new Error(
      wanted !== undefined
        ? `the CSV header has no column "${opts.column}" (it has: ${header.join(", ")})`
        : `the CSV header has no column named ${VALUE_COLUMNS.join(", ")}: name one with --column`,
    );
  }
  const expCol = header.findIndex((h) => EXPIRY_COLUMNS.includes(h));
  for (const r of records.slice(1)) {
    c.records++;
    const at = `line ${r.line}`;
    const cell = r.fields[col];
    if (cell === undefined) {
      c.skip(at, `the row has no column ${col + 1}`);
      continue;
    }
    const exp = expCol >= 0 ? expiryOf(r.fields[expCol] ?? "") : undefined;
    if (exp === "bad") {
      c.skip(at, `"${r.fields[expCol]}" is not a date`);
      continue;
    }
    c.add(at, cell, exp);
  }
  return c.result();
}

// --- STIX 2.1 -----------------------------------------------------------------------------------------------

interface Comparison {
  readonly path: string;
  readonly op: string;
  readonly value: string;
}

/** What each STIX object path names, and what its value must be. */
const STIX_PATHS: Record<string, readonly IndicatorType[]> = {
  "ipv4-addr:value": ["ip", "cidr"],
  "ipv6-addr:value": ["ip", "cidr"],
  "domain-name:value": ["domain"],
  "url:value": ["url"],
  "file:hashes.'sha-256'": ["hash"],
  "file:hashes.sha256": ["hash"],
  "file:hashes.'sha-1'": ["hash"],
  "file:hashes.sha1": ["hash"],
  "file:hashes.md5": ["hash"],
  "file:hashes.'md5'": ["hash"],
  "file:hashes.'sha-512'": ["hash"],
  "file:hashes.sha512": ["hash"],
};

/**
 * The comparisons of a STIX pattern made only of `path = 'value'` comparisons (and `ISSUBSET` for address blocks)
 * joined by OR, inside and across observation expressions (`[a = 'x' OR a = 'y'] OR [b = 'z']`); a string saying
 * why otherwise (AND, FOLLOWEDBY, qualifiers, other operators). One pass over the characters.
 */
export function stixComparisons(pattern: string): Comparison[] | string {
  if (pattern.length > MAX_PATTERN) return `the pattern is longer than ${MAX_PATTERN} characters`;
  const out: Comparison[] = [];
  let i = 0;
  const n = pattern.length;
  const ws = () => {
    while (i < n && /\s/.test(pattern[i] as string)) i++;
  };
  const quoted = (): string | undefined => {
    if (pattern[i] !== "'") return undefined;
    i++;
    let s = "";
    while (i < n && pattern[i] !== "'") {
      if (pattern[i] === "\\" && i + 1 < n) i++;
      s += pattern[i];
      i++;
    }
    if (i >= n) return undefined;
    i++;
    return s;
  };
  const word = (): string => {
    const start = i;
    while (i < n && /[A-Za-z0-9_\-:.]/.test(pattern[i] as string)) i++;
    return pattern.slice(start, i);
  };
  let depth = 0;
  let expectTerm = true;
  while (true) {
    ws();
    if (i >= n) break;
    const ch = pattern[i] as string;
    if (expectTerm) {
      if (ch === "(" || ch === "[") {
        depth += ch === "[" ? 100 : 1;
        i++;
        continue;
      }
      // A comparison: an object path (with quoted steps such as hashes.'SHA-256'), an operator, a string.
      let path = word();
      while (pattern[i] === "'" && path.endsWith(".")) {
        const step = quoted();
        if (step === undefined) return "an unterminated quoted path step";
        path += `'${step}'`;
        path += word();
      }
      if (path === "" || !path.includes(":")) return `expected an object path at character ${i + 1}`;
      ws();
      let op: string;
      if (pattern[i] === "=") {
        op = "=";
        i++;
      } else op = word().toUpperCase();
      if (op !== "=" && op !== "ISSUBSET")
        return `the operator "${op || pattern[i]}" is not supported (only = and ISSUBSET)`;
      ws();
      const value = quoted();
      if (value === undefined) return `expected a quoted string after ${path} ${op}`;
      out.push({ path: path.toLowerCase(), op, value });
      expectTerm = false;
      continue;
    }
    if (ch === "]" || ch === ")") {
      depth -= ch === "]" ? 100 : 1;
      if (depth < 0) return `an unbalanced "${ch}"`;
      i++;
      continue;
    }
    const joiner = word().toUpperCase();
    if (joiner === "OR") {
      expectTerm = true;
      continue;
    }
    return `"${joiner || ch}" is not supported: only comparisons joined by OR describe a list of indicators`;
  }
  if (depth !== 0 || expectTerm) return "the pattern ends early";
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A STIX 2.1 bundle (`{"type": "bundle", "objects": [...]}`), or an array of objects: each `indicator` with
 * `pattern_type` stix gives the values its pattern compares with; `valid_until` is the expiry; revoked indicators
 * and other object types are left out.
 */
export function parseStix(text: string, opts: FeedOptions): FeedResult {
  const doc: unknown = JSON.parse(text);
  const objects = Array.isArray(doc)
    ? doc
    : isObject(doc) && Array.isArray(doc["objects"])
      ? doc["objects"]
      : undefined;
  if (!objects) throw new Error('expected a STIX 2.1 bundle: {"type": "bundle", "objects": [...]}');
  const c = new Collector(opts.nowMs);
  objects.forEach((o: unknown, k) => {
    if (!isObject(o) || o["type"] !== "indicator") return;
    c.records++;
    const at = `objects[${k}]${typeof o["id"] === "string" ? ` (${o["id"]})` : ""}`;
    if (o["revoked"] === true) return c.skip(at, "revoked");
    if (o["pattern_type"] !== "stix") return c.skip(at, `pattern_type ${String(o["pattern_type"])} is not stix`);
    if (typeof o["pattern"] !== "string") return c.skip(at, "no pattern");
    let expires: number | undefined;
    if (o["valid_until"] !== undefined) {
      expires = typeof o["valid_until"] === "string" ? Date.parse(o["valid_until"]) : NaN;
      if (Number.isNaN(expires))
        return c.skip(at, `valid_until ${JSON.stringify(o["valid_until"])} is not a timestamp`);
    }
    const comparisons = stixComparisons(o["pattern"]);
    if (typeof comparisons === "string") return c.skip(at, comparisons);
    for (const cmp of comparisons) {
      const kinds = STIX_PATHS[cmp.path];
      if (!kinds) {
        c.skip(
          at,
          `${cmp.path} is not an indicator Riposte lists (ipv4-addr, ipv6-addr, domain-name, url, file hashes)`,
        );
        continue;
      }
      if (cmp.op === "ISSUBSET" && !kinds.includes("cidr")) {
        c.skip(at, `ISSUBSET on ${cmp.path}`);
        continue;
      }
      c.add(at, cmp.value, expires, kinds);
    }
  });
  return c.result();
}

// --- MISP ---------------------------------------------------------------------------------------------------

/** MISP attribute types Riposte lists, and what each part of their value (`a|b` for composite types) is. */
const MISP_TYPES: Record<string, ReadonlyArray<readonly IndicatorType[] | null>> = {
  "ip-src": [["ip", "cidr"]],
  "ip-dst": [["ip", "cidr"]],
  "ip-src|port": [["ip"], null],
  "ip-dst|port": [["ip"], null],
  domain: [["domain"]],
  hostname: [["domain"]],
  "domain|ip": [["domain"], ["ip"]],
  url: [["url"]],
  md5: [["hash"]],
  sha1: [["hash"]],
  sha256: [["hash"]],
  sha512: [["hash"]],
};

const truthy = (v: unknown) => v === true || v === 1 || v === "1" || v === "true";

/**
 * A MISP event export (`{"Event": {"Attribute": [...], "Object": [{"Attribute": [...]}]}}`, also inside
 * `{"response": [...]}`) or attribute export (`{"response": {"Attribute": [...]}}`). Deleted attributes are left
 * out, and with `toIdsOnly` those not flagged `to_ids`. MISP attributes carry no expiry: the import's TTL applies.
 */
export function parseMisp(text: string, opts: FeedOptions): FeedResult {
  const doc: unknown = JSON.parse(text);
  const attributes: Array<{ at: string; a: unknown }> = [];
  const fromEvent = (ev: unknown, where: string) => {
    if (!isObject(ev)) return;
    const attrs = Array.isArray(ev["Attribute"]) ? ev["Attribute"] : [];
    attrs.forEach((a: unknown, k) => attributes.push({ at: `${where}Attribute[${k}]`, a }));
    const objs = Array.isArray(ev["Object"]) ? ev["Object"] : [];
    objs.forEach((o: unknown, j) => {
      if (!isObject(o) || !Array.isArray(o["Attribute"])) return;
      o["Attribute"].forEach((a: unknown, k) => attributes.push({ at: `${where}Object[${j}].Attribute[${k}]`, a }));
    });
  };
  const response = isObject(doc) ? doc["response"] : undefined;
  if (isObject(doc) && isObject(doc["Event"])) fromEvent(doc["Event"], "Event.");
  else if (isObject(response) && Array.isArray(response["Attribute"])) fromEvent(response, "response.");
  else if (Array.isArray(response))
    response.forEach((e: unknown, k) => fromEvent(isObject(e) ? e["Event"] : e, `response[${k}].Event.`));
  else
    throw new Error(
      'expected a MISP export: {"Event": {...}}, {"response": [{"Event": ...}]} or {"response": {"Attribute": [...]}}',
    );
  const c = new Collector(opts.nowMs);
  for (const { at, a } of attributes) {
    c.records++;
    if (!isObject(a)) {
      c.skip(at, "not an object");
      continue;
    }
    const type = typeof a["type"] === "string" ? a["type"] : "";
    const parts = MISP_TYPES[type];
    if (!parts) {
      c.skip(at, `type ${type || "(none)"} is not one Riposte lists`);
      continue;
    }
    if (truthy(a["deleted"])) {
      c.skip(at, "deleted");
      continue;
    }
    if (opts.toIdsOnly && !truthy(a["to_ids"])) {
      c.skip(at, "to_ids is not set");
      continue;
    }
    if (typeof a["value"] !== "string") {
      c.skip(at, "no value");
      continue;
    }
    const values = parts.length > 1 ? a["value"].split("|") : [a["value"]];
    if (values.length !== parts.length) {
      c.skip(at, `a ${type} value has ${parts.length} parts separated by |`);
      continue;
    }
    parts.forEach((kinds, k) => {
      if (kinds) c.add(at, values[k] as string, undefined, kinds);
    });
  }
  return c.result();
}

/** Parses a feed in `format`; throws (with the format named) when the document is not of that format. */
export function parseFeed(format: FeedFormat, text: string, opts: FeedOptions): FeedResult {
  switch (format) {
    case "text":
      return parseText(text, opts);
    case "csv":
      return parseCsv(text, opts);
    case "stix":
      return parseStix(text, opts);
    case "misp":
      return parseMisp(text, opts);
  }
}
