/**
 * `asset_vulnerabilities`: finds the asset by hostname or IP, counts its open vulnerabilities by severity, and asks
 * whether any critical one has a known exploit (`plugin.attributes.exploit_available`). A host with critical,
 * exploitable vulnerabilities raises the decision's priority: `priority_boost` is 2 then, 1 for any critical or high
 * vulnerability, else 0, for playbooks to add to a priority or test in a condition.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { canonicalIp } from "../../protected.ts";
import { action } from "../types.ts";
import {
  EXPLOITABLE,
  TENABLE_REQUESTS,
  hostFilter,
  type TenableAsset,
  type TenableClient,
  type TenableVuln,
} from "./transport.ts";

export const AssetInput = z.strictObject({
  /** A hostname (or FQDN) or an IP address. */
  host: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9._:-]+$/, "a hostname or an IP address")
    .transform((h) => (isIP(h) !== 0 ? (canonicalIp(h) ?? h) : h.toLowerCase())),
});

const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
/** Fixed vulnerabilities no longer count (the workbench lists Active, Resurfaced and New ones, and may list Fixed). */
const open = (v: TenableVuln) => v.state.toLowerCase() !== "fixed";

function summary(
  host: string,
  asset: TenableAsset | undefined,
  matched: number,
  vulns: TenableVuln[],
  exploitable: TenableVuln[],
) {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<(typeof SEVERITIES)[number], number>;
  for (const v of vulns.filter(open)) counts[SEVERITIES[v.severity] ?? "info"]++;
  const critical = exploitable.filter((v) => v.severity === 4 && open(v));
  const criticalExploitable = critical.length > 0;
  return {
    host,
    found: asset !== undefined,
    asset_id: asset?.id ?? null,
    /** Assets that matched the host; the most recently seen one is reported. */
    assets_matched: matched,
    last_seen: asset?.last_seen ?? null,
    counts,
    critical_exploitable: criticalExploitable,
    exploitable_critical: critical.slice(0, 20).map((v) => ({ plugin_id: v.plugin_id, plugin_name: v.plugin_name })),
    priority_boost: criticalExploitable ? 2 : counts.critical > 0 || counts.high > 0 ? 1 : 0,
  };
}

export const assetVulnerabilities = action({
  classification: "enrich",
  idempotent: true,
  description:
    "Find a host in Tenable by name or IP and summarise its vulnerabilities: counts by severity, critical_exploitable, priority_boost",
  input: AssetInput,
  run: async (client: TenableClient, { input, signal }) => {
    const assets = await client.assets(hostFilter(input.host, isIP(input.host)), signal);
    const asset = [...assets].sort((a, b) => b.last_seen.localeCompare(a.last_seen))[0];
    if (!asset) return summary(input.host, undefined, 0, [], []);
    const vulns = await client.vulnerabilities(asset.id, [], signal);
    const hasCritical = vulns.some((v) => v.severity === 4 && open(v));
    const exploitable = hasCritical ? await client.vulnerabilities(asset.id, [EXPLOITABLE], signal) : [];
    return summary(input.host, asset, assets.length, vulns, exploitable);
  },
  preview: (input) => [
    TENABLE_REQUESTS.assets(hostFilter(input.host, isIP(input.host))),
    TENABLE_REQUESTS.vulnerabilities("{asset_id}"),
    TENABLE_REQUESTS.vulnerabilities("{asset_id}", [EXPLOITABLE]),
  ],
});
