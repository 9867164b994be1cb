/**
 * VirusTotal API v3 (docs.virustotal.com: "IP addresses", "Domains", "URLs" (URL identifiers), "Files", "Errors"):
 * the key in the `x-apikey` header, objects as `{data: {id, type, attributes: {last_analysis_stats, reputation,
 * ...}}}`, errors as `{error: {code, message}}`. A 404 NotFoundError is an answer (VirusTotal has never seen the
 * indicator), not a failure.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

const CHECK_KEY = "check RIPOSTE_CONNECTOR_VIRUSTOTAL_API_KEY: a VirusTotal API key (sent as x-apikey)";
/** No rate-limit headers are documented: the public API allows 4 requests a minute, so wait a quarter minute. */
const QUOTA_WAIT_MS = 15_000;

export type VtKind = "ip_addresses" | "domains" | "urls" | "files";

/** A URL's identifier: its unpadded base64url encoding (the "URL identifiers" section). */
export const vtUrlId = (url: string) => Buffer.from(url, "utf8").toString("base64url");

export const vtRequest = (kind: VtKind, id: string): PlannedRequest => ({
  method: "GET",
  path: `/api/v3/${kind}/${encodeURIComponent(id)}`,
});

/** The coded error of a VirusTotal error answer (not 404: that is a verdict). */
export function vtError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as {
    error?: { code?: unknown; message?: unknown };
  };
  const code = typeof b.error?.code === "string" ? b.error.code : "";
  const message = typeof b.error?.message === "string" ? b.error.message : "";
  if (code === "" && res.status !== 401 && res.status !== 403 && res.status !== 429)
    return httpError("VirusTotal", res, what);
  const said = redactUrls(
    `VirusTotal ${what}: HTTP ${res.status}${code ? ` ${code}` : ""}${message ? ` ${message.slice(0, 300)}` : ""}`,
  );
  if (res.status === 401 || res.status === 403)
    return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_KEY})`);
  if (res.status === 429)
    return new RiposteError(
      "RIPOSTE_CONNECTOR_RATE_LIMITED",
      `${said}${code === "QuotaExceededError" ? " (the key's minute, daily or monthly quota is used up; daily quotas reset at 00:00 UTC)" : ""}`,
      { retryAfterMs: retryAfterMs(res.headers.get("retry-after")) ?? QUOTA_WAIT_MS },
    );
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** A compact verdict later steps template from and conditions test (`malicious >= 3`). */
export interface VtVerdict {
  readonly [k: string]: unknown;
  readonly found: boolean;
  readonly type: string;
  readonly id: string;
  readonly malicious: number;
  readonly suspicious: number;
  readonly harmless: number;
  readonly undetected: number;
  readonly reputation: number;
  /** malicious if any engine says so, else suspicious, else harmless, else undetected; unknown when not found. */
  readonly verdict: "malicious" | "suspicious" | "harmless" | "undetected" | "unknown";
  readonly last_analysis_date: string | null;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export function verdictOf(kind: VtKind, id: string, body: unknown): VtVerdict {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (typeof data !== "object" || data === null)
    throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "VirusTotal answer has no data object");
  const d = data as { id?: unknown; type?: unknown; attributes?: unknown };
  const attrs = (typeof d.attributes === "object" && d.attributes !== null ? d.attributes : {}) as Record<
    string,
    unknown
  >;
  const stats = (
    typeof attrs["last_analysis_stats"] === "object" && attrs["last_analysis_stats"] !== null
      ? attrs["last_analysis_stats"]
      : {}
  ) as Record<string, unknown>;
  const malicious = num(stats["malicious"]);
  const suspicious = num(stats["suspicious"]);
  const harmless = num(stats["harmless"]);
  const date = attrs["last_analysis_date"];
  return {
    found: true,
    type: typeof d.type === "string" ? d.type : kind,
    id: typeof d.id === "string" ? d.id : id,
    malicious,
    suspicious,
    harmless,
    undetected: num(stats["undetected"]),
    reputation: num(attrs["reputation"]),
    verdict: malicious > 0 ? "malicious" : suspicious > 0 ? "suspicious" : harmless > 0 ? "harmless" : "undetected",
    last_analysis_date: typeof date === "number" ? new Date(date * 1000).toISOString() : null,
  };
}

const TYPE_OF: Readonly<Record<VtKind, string>> = {
  ip_addresses: "ip_address",
  domains: "domain",
  urls: "url",
  files: "file",
};

export function notFound(kind: VtKind, id: string): VtVerdict {
  return {
    found: false,
    type: TYPE_OF[kind],
    id,
    malicious: 0,
    suspicious: 0,
    harmless: 0,
    undetected: 0,
    reputation: 0,
    verdict: "unknown",
    last_analysis_date: null,
  };
}

export class VirusTotalClient {
  readonly http: HttpTransport;
  private readonly key: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("VirusTotal", url);
    this.key = credentials["api_key"] ?? "";
  }

  /** Looks an object up; a 404 NotFoundError is the `found: false` verdict. */
  async lookup(kind: VtKind, id: string, signal: AbortSignal): Promise<VtVerdict> {
    const planned = vtRequest(kind, id);
    const res = await this.http.send({ method: "GET", path: planned.path, headers: { "x-apikey": this.key }, signal });
    const code = (res.body as { error?: { code?: unknown } } | undefined)?.error?.code;
    // Only VirusTotal's own NotFoundError: any other 404 (a proxy, a wrong base URL) is an error, not "unknown".
    if (res.status === 404 && code === "NotFoundError") return notFound(kind, id);
    if (res.status !== 200) throw vtError(res, `lookup of ${TYPE_OF[kind]}`);
    return verdictOf(kind, id, res.body);
  }
}
