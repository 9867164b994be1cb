/** The connector registry. */
import { abuseipdb } from "./abuseipdb/index.ts";
import { crowdstrike } from "./crowdstrike.ts";
import { edl } from "./edl.ts";
import { jira } from "./jira/index.ts";
import { misp } from "./misp/index.ts";
import { okta } from "./okta.ts";
import { panos } from "./panos/index.ts";
import { servicenow } from "./servicenow/index.ts";
import { slack } from "./slack.ts";
import { tenable } from "./tenable/index.ts";
import type { ConnectorDescriptor } from "./types.ts";
import { virustotal } from "./virustotal/index.ts";
import { webhook } from "./webhook.ts";

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
export { EDL_NAME, canonicalEntry, edlText, listEntries, type ListedEntry } from "./edl-list.ts";

export const CONNECTORS: readonly ConnectorDescriptor[] = [
  crowdstrike,
  okta,
  slack,
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
