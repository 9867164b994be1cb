/**
 * Tenable Vulnerability Management (cloud.tenable.com) workbenches API (developer.tenable.com "Workbench Filters",
 * workbenches-assets, workbenches-asset-vulnerabilities; pyTenable's WorkbenchesAPI): `X-ApiKeys:
 * accessKey=...;secretKey=...`, filters as `filter.N.filter / .quality / .value` query parameters, answers
 * `{assets: [...]}` and `{vulnerabilities: [{plugin_id, plugin_name, severity (0-4), count, vulnerability_state}]}`;
 * errors as `{statusCode, error, message}`, 429 with Retry-After.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

const CHECK_KEYS =
  "check RIPOSTE_CONNECTOR_TENABLE_ACCESS_KEY and RIPOSTE_CONNECTOR_TENABLE_SECRET_KEY: an API key pair of a user allowed to view the assets";

export type Filter = readonly [filter: string, quality: string, value: string];

const filterQuery = (filters: readonly Filter[]) =>
  Object.fromEntries(
    filters.flatMap(([f, q, v], i) => [
      [`filter.${i}.filter`, f],
      [`filter.${i}.quality`, q],
      [`filter.${i}.value`, v],
    ]),
  );

const withQuery = (path: string, query: Record<string, string>) => {
  const qs = new URLSearchParams(query).toString();
  return qs === "" ? path : `${path}?${qs}`;
};

/** The asset filter for a host: `ipv4` / `ipv6` for an address, `host.hostname` for a name. */
export const hostFilter = (host: string, ipVersion: number): Filter => [
  ipVersion === 4 ? "ipv4" : ipVersion === 6 ? "ipv6" : "host.hostname",
  "eq",
  host,
];

/** Vulnerabilities with a known exploit (the documented workbench filter). */
export const EXPLOITABLE: Filter = ["plugin.attributes.exploit_available", "eq", "true"];

export const TENABLE_REQUESTS = {
  assets: (filter: Filter): PlannedRequest => ({
    method: "GET",
    path: withQuery("/workbenches/assets", filterQuery([filter])),
  }),
  vulnerabilities: (assetId: string, filters: readonly Filter[] = []): PlannedRequest => ({
    method: "GET",
    path: withQuery(
      `/workbenches/assets/${assetId === "{asset_id}" ? assetId : encodeURIComponent(assetId)}/vulnerabilities`,
      filterQuery(filters),
    ),
  }),
} as const;

export function tenableError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const message = [b["error"], b["message"]].filter((x) => typeof x === "string" && x !== "").join(": ");
  if (message === "" && res.status !== 401 && res.status !== 403 && res.status !== 429)
    return httpError("Tenable", res, what);
  const said = redactUrls(`Tenable ${what}: HTTP ${res.status}${message ? ` ${message.slice(0, 300)}` : ""}`);
  if (res.status === 401) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_KEYS})`);
  if (res.status === 403)
    return new RiposteError(
      "RIPOSTE_CONNECTOR_AUTH",
      `${said} (the key's user lacks the permission: Can View on the assets)`,
    );
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status === 429) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

export interface TenableAsset {
  readonly id: string;
  readonly last_seen: string;
  readonly hostnames: string[];
  readonly ipv4: string[];
}

export interface TenableVuln {
  readonly plugin_id: number;
  readonly plugin_name: string;
  readonly severity: number;
  readonly state: string;
}

const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export class TenableClient {
  readonly http: HttpTransport;
  private readonly keys: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("Tenable", url);
    this.keys = `accessKey=${credentials["access_key"] ?? ""};secretKey=${credentials["secret_key"] ?? ""}`;
  }

  private async get(planned: PlannedRequest, signal: AbortSignal, what: string): Promise<Record<string, unknown>> {
    const [path = "", query] = planned.path.split("?");
    const res = await this.http.send({
      method: "GET",
      path,
      ...(query ? { query: Object.fromEntries(new URLSearchParams(query)) } : {}),
      headers: { "x-apikeys": this.keys },
      signal,
    });
    if (res.status !== 200) throw tenableError(res, what);
    if (typeof res.body !== "object" || res.body === null)
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `Tenable ${what}: the answer is not JSON`);
    return res.body as Record<string, unknown>;
  }

  async assets(filter: Filter, signal: AbortSignal): Promise<TenableAsset[]> {
    const b = await this.get(TENABLE_REQUESTS.assets(filter), signal, "asset lookup");
    if (!Array.isArray(b["assets"]))
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Tenable asset lookup: the answer has no assets list");
    return b["assets"].flatMap((a): TenableAsset[] => {
      const r = (typeof a === "object" && a !== null ? a : {}) as Record<string, unknown>;
      if (typeof r["id"] !== "string" || r["id"] === "") return [];
      return [
        {
          id: r["id"],
          last_seen: typeof r["last_seen"] === "string" ? r["last_seen"] : "",
          hostnames: [...strings(r["hostname"]), ...strings(r["fqdn"]), ...strings(r["netbios_name"])],
          ipv4: strings(r["ipv4"]),
        },
      ];
    });
  }

  async vulnerabilities(assetId: string, filters: readonly Filter[], signal: AbortSignal): Promise<TenableVuln[]> {
    const b = await this.get(TENABLE_REQUESTS.vulnerabilities(assetId, filters), signal, "asset vulnerabilities");
    if (!Array.isArray(b["vulnerabilities"]))
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_UNAVAILABLE",
        "Tenable asset vulnerabilities: the answer has no vulnerabilities list",
      );
    return b["vulnerabilities"].map((v) => {
      const r = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
      const sev = r["severity"];
      return {
        plugin_id: typeof r["plugin_id"] === "number" ? r["plugin_id"] : 0,
        plugin_name: typeof r["plugin_name"] === "string" ? r["plugin_name"] : "",
        severity: typeof sev === "number" && sev >= 0 && sev <= 4 ? Math.trunc(sev) : 0,
        state: typeof r["vulnerability_state"] === "string" ? r["vulnerability_state"] : "",
      };
    });
  }
}
