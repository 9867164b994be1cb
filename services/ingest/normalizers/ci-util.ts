/** Case-insensitive field access, for vendors whose exporters change key case (Okta, Azure Monitor). */

/** The value at a dotted path (array indexes as numbers), matching each key exactly or else case-insensitively. */
export function ciGet(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const part of path.split(".")) {
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
    const lower = part.toLowerCase();
    const key = Object.keys(rec).find((k) => k.toLowerCase() === lower);
    cur = key === undefined ? undefined : rec[key];
  }
  return cur;
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
export function ciObj(o: unknown, path: string): Readonly<Record<string, unknown>> | undefined {
  const v = jsonish(ciGet(o, path));
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** An array at a case-insensitive path (decoded when JSON-in-a-string), else []. */
export function ciArr(o: unknown, path: string): unknown[] {
  const v = jsonish(ciGet(o, path));
  return Array.isArray(v) ? v : [];
}
