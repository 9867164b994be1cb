/**
 * A Tenable Vulnerability Management workbenches fake (developer.tenable.com "Workbench Filters",
 * workbenches-assets, workbenches-asset-vulnerabilities; pyTenable): `X-ApiKeys: accessKey=..;secretKey=..`,
 * `GET /workbenches/assets?filter.0.filter=ipv4|ipv6|host.hostname&filter.0.quality=eq&filter.0.value=..` →
 * `{assets, total}`, `GET /workbenches/assets/{id}/vulnerabilities[?filter.0.filter=plugin.attributes.exploit_available
 * &filter.0.quality=eq&filter.0.value=true]` → `{vulnerabilities, total_vulnerability_count, total_asset_count}`;
 * errors `{statusCode, error, message}`.
 */
import { startFake, type FakeServer, type Reply } from "./http.ts";

export const TENABLE_ACCESS = "riposte0test0access0key0000000000000000000000000000000000000000";
export const TENABLE_SECRET = "riposte0test0secret0key0000000000000000000000000000000000000000";

export interface TenableVulnRecord {
  plugin_id: number;
  plugin_name: string;
  severity: 0 | 1 | 2 | 3 | 4;
  exploit_available: boolean;
  state?: "Active" | "New" | "Resurfaced" | "Fixed";
}

export interface TenableAssetRecord {
  id: string;
  hostname: string[];
  fqdn: string[];
  ipv4: string[];
  ipv6: string[];
  last_seen: string;
  vulns: TenableVulnRecord[];
}

export interface TenableFake extends FakeServer {
  readonly assets: TenableAssetRecord[];
}

export const tenableError = (status: number, error: string, message: string): Reply => ({
  status,
  body: { statusCode: status, error, message },
});

const FILTERS = new Set(["ipv4", "ipv6", "host.hostname", "plugin.attributes.exploit_available"]);

function filtersOf(q: URLSearchParams): Array<{ filter: string; quality: string; value: string }> | string {
  const out: Array<{ filter: string; quality: string; value: string }> = [];
  for (let i = 0; q.has(`filter.${i}.filter`); i++) {
    const filter = q.get(`filter.${i}.filter`) ?? "";
    if (!FILTERS.has(filter)) return `Invalid filter: ${filter}`;
    out.push({ filter, quality: q.get(`filter.${i}.quality`) ?? "", value: q.get(`filter.${i}.value`) ?? "" });
  }
  return out;
}

export async function startTenableFake(): Promise<TenableFake> {
  const assets: TenableAssetRecord[] = [];
  const keys = `accessKey=${TENABLE_ACCESS};secretKey=${TENABLE_SECRET}`;
  const fake = await startFake((req) => {
    if (req.headers["x-apikeys"] !== keys) return tenableError(401, "Unauthorized", "Invalid Credentials");
    const filters = filtersOf(req.query);
    if (typeof filters === "string") return tenableError(400, "Bad Request", filters);
    if (req.method === "GET" && req.path === "/workbenches/assets") {
      const hits = assets.filter((a) =>
        filters.every((f) => {
          const values =
            f.filter === "host.hostname" ? [...a.hostname, ...a.fqdn] : f.filter === "ipv4" ? a.ipv4 : a.ipv6;
          return f.quality === "eq" && values.some((v) => v.toLowerCase() === f.value.toLowerCase());
        }),
      );
      return {
        status: 200,
        body: {
          assets: hits.map((a) => ({
            id: a.id,
            has_agent: true,
            last_seen: a.last_seen,
            sources: [{ name: "NESSUS_AGENT", first_seen: "2026-01-01T00:00:00.000Z", last_seen: a.last_seen }],
            ipv4: a.ipv4,
            ipv6: a.ipv6,
            fqdn: a.fqdn,
            netbios_name: [],
            hostname: a.hostname,
            agent_name: a.hostname,
          })),
          total: hits.length,
        },
      };
    }
    const m = /^\/workbenches\/assets\/([^/]+)\/vulnerabilities$/.exec(req.path);
    if (req.method === "GET" && m) {
      const asset = assets.find((a) => a.id === decodeURIComponent(m[1] as string));
      if (!asset) return tenableError(404, "Not Found", "Asset not found");
      const exploitOnly = filters.some((f) => f.filter === "plugin.attributes.exploit_available" && f.value === "true");
      const vulns = asset.vulns.filter((v) => !exploitOnly || v.exploit_available);
      return {
        status: 200,
        body: {
          vulnerabilities: vulns.map((v) => ({
            count: 1,
            plugin_family: "General",
            plugin_id: v.plugin_id,
            plugin_name: v.plugin_name,
            vulnerability_state: v.state ?? "Active",
            accepted_count: 0,
            recasted_count: 0,
            counts_by_severity: [{ count: 1, value: v.severity }],
            severity: v.severity,
          })),
          total_vulnerability_count: vulns.length,
          total_asset_count: 1,
        },
      };
    }
    return tenableError(404, "Not Found", `${req.method} ${req.path}`);
  });
  return Object.assign(fake, { assets });
}
