/** `post_message`: post the decision to the configured channel (`chat.postMessage`); not idempotent. */
import { action } from "../types.ts";
import { MessageInput, SLACK_REQUESTS } from "./message.ts";
import type { SlackClient } from "./transport.ts";

export const postMessage = action({
  classification: "notify",
  // A resent message is a second message (chat.postMessage has no idempotency key); to take one back, chat.delete
  // with the channel and ts the audit record keeps.
  idempotent: false,
  description: "Post the decision (target, rule, reason, links) to the configured Slack channel",
  input: MessageInput,
  run: async (client: SlackClient, { input, signal }) => client.post(input, signal),
  preview: (input) => [SLACK_REQUESTS.postMessage("<RIPOSTE_CONNECTOR_SLACK_CHANNEL>", input)],
});
