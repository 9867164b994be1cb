/** `post`: POST the decision summary, signed and with an Idempotency-Key, to the configured URL. */
import { action, type PlannedRequest } from "../types.ts";
import { SummaryInput, webhookBody, type WebhookClient } from "./transport.ts";

export const post = action({
  classification: "notify",
  // Every retry carries the same Idempotency-Key, so a receiver that honours it sees the summary once.
  idempotent: true,
  description: "POST the decision summary (JSON, HMAC-SHA256 signed, with an Idempotency-Key) to the webhook URL",
  input: SummaryInput,
  run: async (client: WebhookClient, { input, signal }) => client.post(input, signal),
  preview: (input): PlannedRequest[] => [
    { method: "POST", path: "<RIPOSTE_CONNECTOR_WEBHOOK_URL>", body: JSON.parse(webhookBody(input)) as unknown },
  ],
});
