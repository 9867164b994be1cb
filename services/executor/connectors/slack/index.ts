/**
 * Slack Web API `chat.postMessage` (docs.slack.dev reference: chat.postMessage, Web API rate limits): a bot token
 * as `Authorization: Bearer`, a JSON body `{channel, text, blocks}`. Slack answers most errors with HTTP 200 and
 * `{"ok": false, "error": "<code>"}`, and rate limits with 429 + Retry-After; both become coded errors here.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { postMessage } from "./post-message.ts";
import { SlackClient } from "./transport.ts";

export { SLACK_REQUESTS, slackMessage } from "./message.ts";
export { SlackClient, slackError } from "./transport.ts";

export const slack: ConnectorDescriptor<SlackClient> = {
  name: "slack",
  title: "Slack",
  credentials: ["bot_token", "channel"],
  client: (url, credentials) => new SlackClient(url, credentials),
  actions: { post_message: postMessage },
};
