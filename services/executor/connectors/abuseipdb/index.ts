/**
 * AbuseIPDB: `check_ip`, an IP's abuse confidence score and report counts, for conditions such as "block only when
 * abuseConfidenceScore >= 90". Configured by RIPOSTE_CONNECTOR_ABUSEIPDB_URL (`https://api.abuseipdb.com`) and
 * _API_KEY.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { checkIp } from "./check-ip.ts";
import { AbuseIpdbClient } from "./transport.ts";

export { AbuseIpdbClient, abuseRetryAfterMs, type AbuseCheck } from "./transport.ts";

export const abuseipdb: ConnectorDescriptor<AbuseIpdbClient> = {
  name: "abuseipdb",
  title: "AbuseIPDB",
  credentials: ["api_key"],
  client: (url, credentials) => new AbuseIpdbClient(url, credentials),
  actions: { check_ip: checkIp },
};
