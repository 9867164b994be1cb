/** Bearer-token checks for the API and ingest: constant-time comparison, per-source tokens. */
import { timingSafeEqual, createHash } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time string equality (hashing first so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/** Whether `token` may ingest for `source`: the API token, or the source's own token. */
export function mayIngest(
  token: string,
  source: string,
  apiToken: string | undefined,
  sourceTokens: Readonly<Record<string, string>>,
): boolean {
  const own = sourceTokens[source];
  return (apiToken !== undefined && safeEqual(token, apiToken)) || (own !== undefined && safeEqual(token, own));
}
