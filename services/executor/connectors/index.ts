/** The connector registry. */
import { crowdstrike } from "./crowdstrike.ts";
import { edl } from "./edl.ts";
import { okta } from "./okta.ts";
import { slack } from "./slack.ts";
import type { ConnectorDescriptor } from "./types.ts";
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

export const CONNECTORS: readonly ConnectorDescriptor[] = [crowdstrike, okta, slack, webhook, edl];
