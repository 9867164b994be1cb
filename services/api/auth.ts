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

/** What a signature covers: `<t>.<METHOD>.<path?query>.<raw body>`, so neither the target nor the query can change. */
function mac(secret: string, t: number, method: string, url: string, body: Buffer | string): Buffer {
  return createHmac("sha256", secret).update(`${t}.${method.toUpperCase()}.${url}.`).update(body).digest();
}

/**
 * Checks an `X-Riposte-Signature: t=<unix seconds>,v1=<hex>` header: v1 is HMAC-SHA256 over
 * `<t>.<METHOD>.<path?query>.<raw body>` with the source's secret (the path and query exactly as sent), and t must be
 * within the replay window. Returns the problem, or undefined when valid. A valid signature must still be
 * checked against the nonce cache (signatureNonce) so that it is used once.
 */
export function signatureProblem(
  header: string | undefined,
  method: string,
  url: string,
  body: Buffer,
  secret: string,
  nowMs: number,
  windowMs: number,
): string | undefined {
  if (!header) {
    return "this source requires X-Riposte-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<METHOD>.<path?query>.<body>'>";
  }
  const parts = new Map<string, string>();
  for (const kv of header.slice(0, 512).split(",")) {
    const i = kv.indexOf("=");
    if (i > 0) parts.set(kv.slice(0, i).trim(), kv.slice(i + 1).trim());
  }
  const tText = parts.get("t") ?? "";
  const t = Number(tText);
  const v1 = parts.get("v1") ?? "";
  if (!/^[0-9]{1,12}$/.test(tText) || !/^[0-9a-f]{64}$/i.test(v1))
    return "X-Riposte-Signature must be t=<unix seconds>,v1=<64 hex>";
  if (Math.abs(nowMs - t * 1000) > windowMs)
    return `signature timestamp is outside the replay window of ${windowMs / 1000} s: check the sender's clock`;
  return timingSafeEqual(mac(secret, t, method, url, body), Buffer.from(v1, "hex"))
    ? undefined
    : "signature does not match: sign '<t>.<METHOD>.<path?query>.<body>' with the source's secret";
}

/** The nonce of a valid signature header: its v1 value (unique per timestamp, method, URL and body). */
export function signatureNonce(header: string): string {
  return (/v1=([0-9a-fA-F]{64})/.exec(header)?.[1] ?? header).toLowerCase();
}

/** In-process cache of used signatures, for a single ingest process (distributed mode uses shared state). */
export class SignatureNonces {
  private readonly expiry = new Map<string, number>();

  /** Records `nonce`; true when it was already recorded and has not expired. */
  seen(nonce: string, ttlMs: number, nowMs = Date.now()): boolean {
    const until = this.expiry.get(nonce);
    if (until !== undefined && until > nowMs) return true;
    this.expiry.set(nonce, nowMs + ttlMs);
    // Drop expired ones as new ones come: the map is bounded by requests per window.
    let n = 0;
    for (const [k, v] of this.expiry) {
      if (v > nowMs || n++ > 8) break;
      this.expiry.delete(k);
    }
    return false;
  }
}

/** Builds a signature header (for senders and tests): `url` is the path and query exactly as requested. */
export function signRequest(
  method: string,
  url: string,
  body: Buffer | string,
  secret: string,
  nowMs = Date.now(),
): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, method, url, body).toString("hex")}`;
}
