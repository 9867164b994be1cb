/**
 * A VirusTotal API v3 fake (docs.virustotal.com: IP address, domain, URL and file objects; "URL identifiers";
 * "Errors"): `GET /api/v3/{ip_addresses|domains|urls|files}/{id}` with `x-apikey`, answering
 * `{data: {id, type, links, attributes: {last_analysis_stats, reputation, last_analysis_date, ...}}}`, 404
 * NotFoundError for an unknown indicator, 401 WrongCredentialsError / AuthenticationRequiredError, 400
 * InvalidArgumentError for a malformed URL id, 429 QuotaExceededError once the quota is spent.
 */
import { startFake, type FakeServer, type Reply } from "./http.ts";

export const VT_KEY = "riposte-test-vt-key-0123456789abcdef0123456789abcdef";

export interface VtStats {
  malicious: number;
  suspicious: number;
  harmless: number;
  undetected: number;
  timeout?: number;
}

export interface VirusTotalFake extends FakeServer {
  /** `${collection}/${id}` → stats and reputation (URLs by the URL itself, not its id). */
  readonly objects: Map<string, { stats: VtStats; reputation: number }>;
  /** Requests left before QuotaExceededError (Infinity by default). */
  quota: number;
}

export const vtError = (status: number, code: string, message: string): Reply => ({
  status,
  body: { error: { code, message } },
});

const TYPES: Record<string, string> = { ip_addresses: "ip_address", domains: "domain", urls: "url", files: "file" };

export async function startVirusTotalFake(): Promise<VirusTotalFake> {
  const objects = new Map<string, { stats: VtStats; reputation: number }>();
  const control = { quota: Infinity };
  const fake = await startFake((req) => {
    const key = req.headers["x-apikey"];
    if (key === undefined) return vtError(401, "AuthenticationRequiredError", "X-Apikey header is missing");
    if (key !== VT_KEY) return vtError(401, "WrongCredentialsError", "Wrong API key");
    if (control.quota <= 0) return vtError(429, "QuotaExceededError", "Quota exceeded");
    control.quota--;
    const m = /^\/api\/v3\/(ip_addresses|domains|urls|files)\/([^/]+)$/.exec(req.path);
    if (req.method !== "GET" || !m) return vtError(404, "NotFoundError", `Resource not found: ${req.path}`);
    const collection = m[1] as string;
    let id = decodeURIComponent(m[2] as string);
    let lookupKey = id;
    if (collection === "urls") {
      if (!/^[A-Za-z0-9_-]+$/.test(id)) return vtError(400, "InvalidArgumentError", `Invalid URL identifier: ${id}`);
      lookupKey = Buffer.from(id, "base64url").toString("utf8");
      id = "5f0e0b0c1f3f0a4c7d4c2b0f5c1e9a7d3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8d";
    }
    const o = objects.get(`${collection}/${lookupKey}`);
    if (!o) return vtError(404, "NotFoundError", `${TYPES[collection]} "${lookupKey}" not found`);
    return {
      status: 200,
      body: {
        data: {
          id,
          type: TYPES[collection],
          links: { self: `https://www.virustotal.com/api/v3/${collection}/${m[2]}` },
          attributes: {
            last_analysis_stats: { timeout: 0, ...o.stats },
            last_analysis_date: 1_700_000_000,
            reputation: o.reputation,
            last_analysis_results: { EngineX: { category: "malicious", engine_name: "EngineX", result: "malware" } },
          },
        },
      },
    };
  });
  return Object.defineProperties(Object.assign(fake, { objects }), {
    quota: { get: () => control.quota, set: (n: number) => void (control.quota = n), enumerable: true },
  }) as VirusTotalFake;
}
