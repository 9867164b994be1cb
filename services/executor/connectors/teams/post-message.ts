/** `post_message`: post the decision as an Adaptive Card to the configured Teams Workflows webhook. */
import { action } from "../types.ts";
import { CardInput, teamsPayload } from "./card.ts";
import type { TeamsClient } from "./transport.ts";

export const postMessage = action({
  classification: "notify",
  // Workflows has no idempotency key: a resent card is a second card.
  idempotent: false,
  description: "Post the decision (target, rule, reason, links) as an Adaptive Card to a Teams channel via Workflows",
  input: CardInput,
  run: async (client: TeamsClient, { input, signal }) => client.post(input, signal),
  preview: (input) => [{ method: "POST", path: "<RIPOSTE_CONNECTOR_TEAMS_URL>", body: teamsPayload(input) }],
});
