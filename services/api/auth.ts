/** Bearer-token checks for the API and ingest: constant-time comparison, per-source tokens. */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

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
  const own = Object.hasOwn(sourceTokens, source) ? sourceTokens[source] : undefined;
  return (apiToken !== undefined && safeEqual(token, apiToken)) || (own !== undefined && safeEqual(token, own));
}

/**
 * Checks an `X-Riposte-Signature: t=<unix seconds>,v1=<hex>` header: v1 is HMAC-SHA256 over `<t>.<raw body>`
 * with the source's secret, and t must be within the replay window. Returns the problem, or undefined when valid.
 */
export function signatureProblem(
  header: string | undefined,
  body: Buffer,
  secret: string,
  nowMs: number,
  windowMs: number,
): string | undefined {
  if (!header) return "this source requires X-Riposte-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>";
  const parts = new Map(header.split(",").map((kv) => kv.trim().split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/i.test(v1))
    return "X-Riposte-Signature must be t=<unix seconds>,v1=<64 hex>";
  if (Math.abs(nowMs - t * 1000) > windowMs)
    return `signature timestamp is outside the replay window of ${windowMs / 1000} s: check the sender's clock`;
  const expected = createHmac("sha256", secret).update(`${t}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(v1, "hex")) ? undefined : "signature does not match the body";
}

/** Builds a signature header (for senders and tests). */
export function signBody(body: Buffer | string, secret: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex")}`;
}
