/**
 * An AbuseIPDB APIv2 fake (docs.abuseipdb.com, CHECK endpoint): `GET /api/v2/check?ipAddress=&maxAgeInDays=` with
 * the `Key` header → `{data: {...}}` and X-RateLimit-Limit / -Remaining headers; 401 for a bad key, 422 for a bad
 * parameter, 429 with Retry-After and X-RateLimit-Reset once the daily quota is spent; errors as
 * `{errors: [{detail, status, source}]}`.
 */
import { isIP } from "node:net";
import { startFake, type FakeServer, type Reply } from "./http.ts";

export const ABUSEIPDB_KEY = "riposte-test-abuseipdb-key-0123456789abcdef0123456789abcdef0123456789";

export interface AbuseReport {
  abuseConfidenceScore: number;
  totalReports: number;
  countryCode: string | null;
  isWhitelisted: boolean | null;
}

export interface AbuseIpdbFake extends FakeServer {
  readonly reports: Map<string, AbuseReport>;
  quota: number;
}

export const abuseErrors = (status: number, detail: string, parameter?: string): Reply => ({
  status,
  body: { errors: [{ detail, status, ...(parameter ? { source: { parameter } } : {}) }] },
});

export async function startAbuseIpdbFake(): Promise<AbuseIpdbFake> {
  const reports = new Map<string, AbuseReport>();
  const control = { quota: 1000 };
  const fake = await startFake((req) => {
    if (req.headers["key"] !== ABUSEIPDB_KEY)
      return abuseErrors(401, "Authentication failed. Your API key is either missing, incorrect, or revoked.");
    if (control.quota <= 0)
      return {
        ...abuseErrors(429, "Daily rate limit of 1000 requests exceeded for this endpoint."),
        headers: {
          "retry-after": "0",
          "x-ratelimit-limit": "1000",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000)),
        },
      };
    control.quota--;
    if (req.method !== "GET" || req.path !== "/api/v2/check") return abuseErrors(404, "Not found");
    const ip = req.query.get("ipAddress") ?? "";
    if (isIP(ip) === 0)
      return abuseErrors(
        422,
        "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).",
        "ipAddress",
      );
    const age = Number(req.query.get("maxAgeInDays") ?? "30");
    if (!Number.isInteger(age) || age < 1 || age > 365)
      return abuseErrors(422, "The max age in days must be between 1 and 365.", "maxAgeInDays");
    const r = reports.get(ip) ?? { abuseConfidenceScore: 0, totalReports: 0, countryCode: null, isWhitelisted: false };
    return {
      status: 200,
      headers: { "x-ratelimit-limit": "1000", "x-ratelimit-remaining": String(control.quota) },
      body: {
        data: {
          ipAddress: ip,
          isPublic: true,
          ipVersion: isIP(ip),
          ...r,
          usageType: "Data Center/Web Hosting/Transit",
          isp: "Example Hosting",
          domain: "example.net",
          hostnames: [],
          isTor: false,
          numDistinctUsers: Math.min(r.totalReports, 7),
          lastReportedAt: r.totalReports > 0 ? "2026-11-30T12:00:00+00:00" : null,
        },
      },
    };
  });
  return Object.defineProperties(Object.assign(fake, { reports }), {
    quota: { get: () => control.quota, set: (n: number) => void (control.quota = n), enumerable: true },
  }) as AbuseIpdbFake;
}
