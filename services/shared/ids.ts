/** Deterministic identifiers: the basis of effectively-once delivery. */
import { createHash, hash } from "node:crypto";

/** A short, stable hex id from the given parts (sha256 of each part followed by NUL, 32 hex chars). */
export function stableId(...parts: ReadonlyArray<string | number>): string {
  let text = "";
  for (const p of parts) text += `${String(p)}\u0000`;
  // One-shot hashing: no Hash object per id (the text is what the streaming hash was fed, in one piece).
  return hash("sha256", text, "hex").slice(0, 32);
}

/** Canonical JSON: keys sorted, so equal values hash equal. */
export function canonicalJson(value: unknown): string {
  return canonicalOf(value, 0) ?? canonicalByReplacer(value);
}

/**
 * The canonical JSON every value has been given so far: JSON.stringify with each object's entries sorted into a new
 * object (whose integer-like keys JavaScript orders first, ascending). canonicalOf writes the same text directly.
 */
function canonicalByReplacer(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Deeper than this, canonicalByReplacer writes it (its recursion is the engine's). */
const MAX_CANONICAL_DEPTH = 256;
const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/;
/** Most keys do not start with a digit: those are told apart by one character, without the regex. */
const isArrayIndex = (k: string) => {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && ARRAY_INDEX.test(k) && Number(k) <= 4_294_967_294;
};

/**
 * Object keys as JSON strings, remembered: an event's few dozen keys are the same from one event to the next. The
 * memo is bounded (cleared when full), so a sender inventing keys costs a JSON.stringify each, as without it.
 */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;
const QUOTED_KEY_MAX_CHARS = 64;
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (k.length <= QUOTED_KEY_MAX_CHARS) {
      if (quotedKeys.size >= QUOTED_KEYS_MAX) quotedKeys.clear();
      quotedKeys.set(k, q);
    }
  }
  return q;
}

/**
 * canonicalByReplacer's text for plain JSON data (what JSON.parse gives); undefined for anything else (undefined
 * values, toJSON, class instances, bigints, great depth), which canonicalByReplacer then writes.
 */
function canonicalOf(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null) return "null";
  if (depth > MAX_CANONICAL_DEPTH) return undefined;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return undefined;
    let out = "[";
    for (let i = 0; i < v.length; i++) {
      const el = canonicalOf(v[i], depth + 1);
      if (el === undefined) return undefined;
      out += i === 0 ? el : `,${el}`;
    }
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const rec = v as Record<string, unknown>;
  if (typeof rec["toJSON"] === "function") return undefined;
  const keys = Object.keys(rec);
  let indexes: string[] | undefined;
  let names: string[] = keys;
  if (keys.some(isArrayIndex)) {
    indexes = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
    names = keys.filter((k) => !isArrayIndex(k));
  }
  names.sort();
  let out = "{";
  let first = true;
  for (const list of indexes ? [indexes, names] : [names]) {
    for (const k of list) {
      const el = canonicalOf(rec[k], depth + 1);
      if (el === undefined) return undefined;
      out += `${first ? "" : ","}${quotedKey(k)}:${el}`;
      first = false;
    }
  }
  return `${out}}`;
}

/** sha256 hex of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
