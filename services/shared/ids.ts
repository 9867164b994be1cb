/** Deterministic identifiers: the basis of effectively-once delivery. */
import { createHash } from "node:crypto";

/** A short, stable hex id from the given parts (sha256, 32 hex chars). */
export function stableId(...parts: ReadonlyArray<string | number>): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(String(p)).update("\u0000");
  return h.digest("hex").slice(0, 32);
}

/** Canonical JSON: keys sorted, so equal values hash equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** sha256 hex of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
