/** The connector registry. */
import { crowdstrike } from "./crowdstrike/index.ts";
import { defender } from "./defender/index.ts";
import { edl } from "./edl/index.ts";
import { graph } from "./graph/index.ts";
import { mimecast } from "./mimecast/index.ts";
import { okta } from "./okta/index.ts";
import { slack } from "./slack/index.ts";
import { teams } from "./teams/index.ts";
import type { ConnectorDescriptor } from "./types.ts";
import { webhook } from "./webhook/index.ts";

export type {
  ConnectorDescriptor,
  ConnectorEnv,
  ActionDescriptor,
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
];
