/**
 * Microsoft Teams through a Workflows webhook (Power Automate, "When a Teams webhook request is received"): the
 * URL, with its `sig`, is the whole configuration. Posts an Adaptive Card; 202 Accepted; 429 with Retry-After is
 * waited out (the card was not taken), 5xx is not resent (it may have been). Workflows limits are the flow's
 * (Power Automate request limits); the legacy connector allowed 4 requests a second per webhook.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { postMessage } from "./post-message.ts";
import { TeamsClient } from "./transport.ts";

export { teamsPayload } from "./card.ts";
export { TeamsClient, teamsError } from "./transport.ts";

export const teams: ConnectorDescriptor<TeamsClient> = {
  name: "teams",
  title: "Microsoft Teams (Workflows webhook)",
  credentials: [],
  secretUrl: true,
  client: (url) => new TeamsClient(url),
  actions: { post_message: postMessage },
};
