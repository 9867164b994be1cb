/**
 * AbuseIPDB APIv2 (docs.abuseipdb.com, CHECK endpoint): `GET /api/v2/check?ipAddress=&maxAgeInDays=` with the key
 * in the `Key` header and `Accept: application/json`; `{data: {ipAddress, abuseConfidenceScore, totalReports,
 * countryCode, isWhitelisted, ...}}`; errors JSON:API style `{errors: [{detail, status}]}`; 429 (daily quota) with
 * Retry-After and X-RateLimit-Reset (epoch seconds).
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

const CHECK_KEY = "check RIPOSTE_CONNECTOR_ABUSEIPDB_API_KEY: an AbuseIPDB APIv2 key (sent in the Key header)";

export const checkRequest = (ip: string, maxAgeInDays: number): PlannedRequest => ({
  method: "GET",
  path: `/api/v2/check?${new URLSearchParams({ ipAddress: ip, maxAgeInDays: String(maxAgeInDays) }).toString()}`,
});

/** Milliseconds to wait on a 429: Retry-After if sent, else X-RateLimit-Reset (epoch seconds). */
export function abuseRetryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const after = retryAfterMs(headers.get("retry-after"), now);
  if (after !== undefined) return after;
  const reset = Number(headers.get("x-ratelimit-reset"));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
}

export function abuseError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as { errors?: unknown };
  const details = Array.isArray(b.errors)
    ? b.errors
        .map((e) => (e as { detail?: unknown }).detail)
        .filter((d): d is string => typeof d === "string")
        .join("; ")
    : "";
  if (details === "" && res.status !== 401 && res.status !== 403 && res.status !== 429)
    return httpError("AbuseIPDB", res, what);
  const said = redactUrls(`AbuseIPDB ${what}: HTTP ${res.status}${details ? ` ${details.slice(0, 300)}` : ""}`);
  if (res.status === 401 || res.status === 403)
    return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_KEY})`);
  if (res.status === 429) {
    const after = abuseRetryAfterMs(res.headers);
    return new RiposteError(
      "RIPOSTE_CONNECTOR_RATE_LIMITED",
      `${said} (the key's daily check quota is used up)`,
      after === undefined ? {} : { retryAfterMs: after },
    );
  }
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** What later steps and conditions use (`abuseConfidenceScore >= 90`), with AbuseIPDB's own names. */
export interface AbuseCheck {
  readonly [k: string]: unknown;
  readonly ipAddress: string;
  readonly abuseConfidenceScore: number;
  readonly totalReports: number;
  readonly numDistinctUsers: number;
  readonly countryCode: string | null;
  readonly isWhitelisted: boolean;
  readonly isTor: boolean;
  readonly usageType: string | null;
  readonly isp: string | null;
  readonly domain: string | null;
  readonly lastReportedAt: string | null;
}

export function checkOf(body: unknown): AbuseCheck {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (typeof data !== "object" || data === null)
    throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "AbuseIPDB check: the answer has no data object");
  const d = data as Record<string, unknown>;
  const score = d["abuseConfidenceScore"];
  if (typeof score !== "number" || !Number.isFinite(score))
    throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "AbuseIPDB check: the answer has no abuseConfidenceScore");
  const text = (k: string) => (typeof d[k] === "string" ? d[k] : null);
  const count = (k: string) => (typeof d[k] === "number" && Number.isFinite(d[k]) ? d[k] : 0);
  return {
    ipAddress: text("ipAddress") ?? "",
    abuseConfidenceScore: score,
    totalReports: count("totalReports"),
    numDistinctUsers: count("numDistinctUsers"),
    countryCode: text("countryCode"),
    isWhitelisted: d["isWhitelisted"] === true,
    isTor: d["isTor"] === true,
    usageType: text("usageType"),
    isp: text("isp"),
    domain: text("domain"),
    lastReportedAt: text("lastReportedAt"),
  };
}

export class AbuseIpdbClient {
  readonly http: HttpTransport;
  private readonly key: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("AbuseIPDB", url);
    this.key = credentials["api_key"] ?? "";
  }

  async check(ip: string, maxAgeInDays: number, signal: AbortSignal): Promise<AbuseCheck> {
    const res = await this.http.send({
      method: "GET",
      path: "/api/v2/check",
      query: { ipAddress: ip, maxAgeInDays: String(maxAgeInDays) },
      headers: { key: this.key },
      signal,
    });
    if (res.status !== 200) throw abuseError(res, "check");
    return checkOf(res.body);
  }
}
