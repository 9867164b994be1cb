/**
 * VirusTotal: `lookup_ip`, `lookup_domain`, `lookup_url`, `lookup_hash` (input `value`), each answering a compact
 * verdict (`found`, `malicious`, `suspicious`, `harmless`, `undetected`, `reputation`, `verdict`) that later steps
 * and conditions use. Configured by RIPOSTE_CONNECTOR_VIRUSTOTAL_URL (`https://www.virustotal.com`) and _API_KEY.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { lookupDomain, lookupHash, lookupIp, lookupUrl } from "./lookups.ts";
import { VirusTotalClient } from "./transport.ts";

export { VirusTotalClient, vtUrlId, type VtVerdict } from "./transport.ts";

export const virustotal: ConnectorDescriptor<VirusTotalClient> = {
  name: "virustotal",
  title: "VirusTotal",
  credentials: ["api_key"],
  client: (url, credentials) => new VirusTotalClient(url, credentials),
  actions: { lookup_ip: lookupIp, lookup_domain: lookupDomain, lookup_url: lookupUrl, lookup_hash: lookupHash },
};
