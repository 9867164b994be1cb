/** Small pure helpers shared by the normalizers. */
import { isIP } from "node:net";

export type Obj = Readonly<Record<string, unknown>>;

/**
 * Paths split once: the normalizers ask for the same few hundred paths (constants of the code and of mapping files)
 * for every event. Bounded, so paths built from input could never grow it without limit.
 */
const SPLIT = new Map<string, readonly string[]>();
const MAX_SPLIT = 8_192;
function partsOf(path: string): readonly string[] {
  let parts = SPLIT.get(path);
  if (parts === undefined) {
    parts = path.split(".");
    if (SPLIT.size < MAX_SPLIT) SPLIT.set(path, parts);
  }
  return parts;
}

/** The value at a dotted path of a JSON object, or undefined. */
export function get(o: unknown, path: string): unknown {
  // Most paths are one key: read it without the cache lookup.
  if (!path.includes("."))
    return o !== null && typeof o === "object" ? (o as Record<string, unknown>)[path] : undefined;
  return getAt(o, partsOf(path));
}

/** A dotted path split once, for getAt: what a module asks for every event (no cache lookup per read). */
export function pathOf(path: string): readonly string[] {
  return path.split(".");
}

/** The value at a path already split (pathOf), as `get` reads it. */
export function getAt(o: unknown, parts: readonly string[]): unknown {
  let cur: unknown = o;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[parts[i] as string];
  }
  return cur;
}

/** A non-empty string at `path` (numbers are stringified), else undefined. */
export function str(o: unknown, path: string): string | undefined {
  const v = get(o, path);
  if (typeof v === "string") return v.trim() === "" ? undefined : v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return undefined;
}

/** A finite number at `path` (numeric strings are parsed), else undefined. */
export function num(o: unknown, path: string): number | undefined {
  const v = get(o, path);
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function obj(o: unknown, path: string): Obj | undefined {
  const v = get(o, path);
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function arr(o: unknown, path: string): unknown[] {
  const v = get(o, path);
  return Array.isArray(v) ? v : [];
}

// Case-insensitive field access, for vendors whose exporters change key case (Okta, Azure Monitor, Sentinel).

/** The value at a dotted path (array indexes as numbers), matching each key exactly or else case-insensitively. */
export function ciGet(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const part of partsOf(path)) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) {
      cur = cur[Number(part)];
      continue;
    }
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    const rec = cur as Record<string, unknown>;
    if (part in rec) {
      cur = rec[part];
      continue;
    }
    const key = ciKey(rec, part.toLowerCase());
    cur = key === undefined ? undefined : rec[key];
  }
  return cur;
}

/**
 * The first key of `rec` that lower-cases to `lower`. Lower-casing keeps a string's length except for U+0130 (the
 * one character whose lower case is two), so only keys of that length, or holding it, are lower-cased.
 */
function ciKey(rec: Record<string, unknown>, lower: string): string | undefined {
  // for-in, not Object.keys: no array per lookup, and the own keys come in the same order.
  for (const k in rec)
    if ((k.length === lower.length || k.includes("\u0130")) && k.toLowerCase() === lower && Object.hasOwn(rec, k))
      return k;
  return undefined;
}

/** A non-empty string (numbers stringified) at a case-insensitive path. */
export function ciStr(o: unknown, path: string): string | undefined {
  const v = ciGet(o, path);
  if (typeof v === "string") return v.trim() === "" ? undefined : v;
  if (typeof v === "number") return String(v);
  return undefined;
}

/** The value, with a JSON object/array encoded as a string decoded (Log Analytics exports nest JSON in strings). */
export function jsonish(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const s = v.trim();
  if (!s.startsWith("{") && !s.startsWith("[")) return v;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return v;
  }
}

/** An object at a case-insensitive path (decoded when JSON-in-a-string), else undefined. */
export function ciObj(o: unknown, path: string): Obj | undefined {
  const v = jsonish(ciGet(o, path));
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** An array at a case-insensitive path (decoded when JSON-in-a-string), else []. */
export function ciArr(o: unknown, path: string): unknown[] {
  const v = jsonish(ciGet(o, path));
  return Array.isArray(v) ? v : [];
}

/** A valid IPv4/IPv6 address (brackets and zone ids stripped), else undefined. */
export function ip(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const s = v.trim().replace(/^\[|\]$/g, "");
  return isIP(s) ? s : undefined;
}

/** A port number, else undefined. */
export function port(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

/** A hash with its algorithm guessed from its length, or undefined when it is not hex. */
export function hashOf(value: unknown): { algorithm: string; value: string } | undefined {
  if (typeof value !== "string" || !/^[0-9a-f]+$/i.test(value)) return undefined;
  const algorithm = { 32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512" }[value.length];
  return algorithm ? { algorithm, value } : undefined;
}

/** OCSF captions of the hash algorithms, by the lower-case names vendors give their hash fields. */
const HASH_ALGORITHMS = { md5: "MD5", sha1: "SHA-1", sha256: "SHA-256", sha512: "SHA-512" } as const;
type HashName = keyof typeof HASH_ALGORITHMS;

/** OCSF hashes: for each algorithm name in turn, the digest `digest` finds for it, when it finds one. */
export function hashesBy(
  names: readonly HashName[],
  digest: (name: HashName) => string | undefined,
): Array<{ algorithm: string; value: string }> {
  return names.flatMap((name) => {
    const value = digest(name);
    return value ? [{ algorithm: HASH_ALGORITHMS[name], value }] : [];
  });
}

/** The last path segment of a file path. */
export function baseName(path: string | undefined): string | undefined {
  return path?.split(/[\\/]/).pop() || undefined;
}

/** `DOMAIN\user` → name and domain. */
export function splitUser(v: string | undefined, domain?: string): { name: string; domain?: string } | undefined {
  if (!v) return undefined;
  const i = v.indexOf("\\");
  if (i > 0 && i < v.length - 1) return { name: v.slice(i + 1), domain: v.slice(0, i) };
  return domain ? { name: v, domain } : { name: v };
}

/**
 * Epoch milliseconds from an ISO-8601 string (also `-0400` offsets and `YYYY-MM-DD hh:mm:ss` as UTC),
 * epoch seconds or epoch milliseconds. Undefined when it is not a time.
 */
export function time(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v < 1e11 ? Math.round(v * 1000) : Math.round(v);
  if (typeof v !== "string" || v.trim() === "") return undefined;
  const s = v.trim();
  // ISO-8601 in UTC (`...T...Z`), the common case: none of the rewrites below applies to it.
  if (s.charCodeAt(s.length - 1) === 90 && s.charCodeAt(10) === 84) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : t;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return time(Number(s));
  let iso = s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(iso)) iso = iso.replace(" ", "T");
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += "Z";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** Drops keys whose value is undefined, empty object or empty array (keeps OCSF output tidy). */
export function compact<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  const rec = o as Record<string, unknown>;
  // for-in, not Object.keys: no array per call, and the engine reads `rec[k]` through the keys' cache.
  for (const k in rec) {
    if (!Object.hasOwn(rec, k)) continue;
    const v = rec[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
    } else if (v !== null && typeof v === "object" && !hasOwnKey(v)) continue;
    out[k] = v;
  }
  return out as T;
}

/** Whether an object has an own enumerable string key (what `Object.keys(v).length > 0` says, without the array). */
function hasOwnKey(v: object): boolean {
  for (const k in v) if (Object.hasOwn(v, k)) return true;
  return false;
}

/** OCSF severity_id from a 0–100 risk-like score. */
export function severityFromScore(score: number): number {
  if (score >= 90) return 5;
  if (score >= 70) return 4;
  if (score >= 40) return 3;
  if (score >= 20) return 2;
  return 1;
}

/** OCSF severity_id from a 0–10 score as AWS grades it (GuardDuty; ASFF Normalized / 10): 9+ critical, 7+ high, 4+ medium, 1+ low. */
export function severityFromTen(score: number): number {
  if (score >= 9) return 5;
  if (score >= 7) return 4;
  if (score >= 4) return 3;
  if (score >= 1) return 2;
  return 1;
}

/** OCSF severity_id from a vendor word (critical, high, medium, low, informational, ...). */
export function severityFromWord(w: string | undefined): number {
  switch (w?.toLowerCase()) {
    case "critical":
    case "fatal":
      return 5;
    case "high":
    case "severe":
      return 4;
    case "medium":
    case "moderate":
      return 3;
    case "low":
      return 2;
    case "informational":
    case "info":
    case "information":
      return 1;
    default:
      return 0;
  }
}

/** An empty object without a prototype: vendor keys such as `__proto__` or `constructor` stay plain data in it. */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Whether a UTF-16 code unit is what `\s` matches in a JavaScript regex (WhiteSpace or LineTerminator). */
export function isSpaceCode(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
