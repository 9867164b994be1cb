/**
 * Tenable Vulnerability Management: `asset_vulnerabilities` (a host's open vulnerabilities by severity, whether a
 * critical one is exploitable, and the priority boost that implies). Configured by RIPOSTE_CONNECTOR_TENABLE_URL
 * (`https://cloud.tenable.com`), _ACCESS_KEY and _SECRET_KEY.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { assetVulnerabilities } from "./asset-vulnerabilities.ts";
import { TenableClient } from "./transport.ts";

export { TenableClient } from "./transport.ts";

export const tenable: ConnectorDescriptor<TenableClient> = {
  name: "tenable",
  title: "Tenable Vulnerability Management",
  credentials: ["access_key", "secret_key"],
  client: (url, credentials) => new TenableClient(url, credentials),
  actions: { asset_vulnerabilities: assetVulnerabilities },
};
