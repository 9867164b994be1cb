/** The connector registry. */
import { abuseipdb } from "./abuseipdb/index.ts";
import { crowdstrike } from "./crowdstrike/index.ts";
import { defender } from "./defender/index.ts";
import { edl } from "./edl/index.ts";
import { graph } from "./graph/index.ts";
import { jira } from "./jira/index.ts";
import { mimecast } from "./mimecast/index.ts";
import { misp } from "./misp/index.ts";
import { okta } from "./okta/index.ts";
import { panos } from "./panos/index.ts";
import { servicenow } from "./servicenow/index.ts";
import { slack } from "./slack/index.ts";
import { teams } from "./teams/index.ts";
import { tenable } from "./tenable/index.ts";
import type { ConnectorDescriptor } from "./types.ts";
import { virustotal } from "./virustotal/index.ts";
import { webhook } from "./webhook/index.ts";

export type {
  ConnectorDescriptor,
  ConnectorEnv,
  ActionDescriptor,
  BatchItem,
  BatchSpec,
  Classification,
  PlannedRequest,
  ResolvedTarget,
  Verified,
} from "./types.ts";
export { HttpTransport, httpError, retryAfterMs, redactUrl, redactUrls } from "./http.ts";
export { EDL_NAME, canonicalEntry, edlText, listEntries, type ListedEntry } from "./edl/index.ts";

export const CONNECTORS: readonly ConnectorDescriptor[] = [
  crowdstrike,
  defender,
  okta,
  graph,
  mimecast,
  slack,
  teams,
  webhook,
  edl,
  panos,
  jira,
  servicenow,
  virustotal,
  abuseipdb,
  misp,
  tenable,
];
