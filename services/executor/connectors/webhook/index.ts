/**
 * A generic webhook: POSTs the decision's summary as JSON to the configured URL, signed like Riposte's own ingest
 * (`X-Riposte-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.POST.<path>.<body>'>`, services/api/auth.ts),
 * so a receiver can check it with the same code, and with an `Idempotency-Key` that stays the same on every retry
 * of one action, so a receiver can drop a repeat.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { post } from "./post.ts";
import { WebhookClient } from "./transport.ts";

export { WebhookClient, idempotencyKey, webhookBody } from "./transport.ts";

export const webhook: ConnectorDescriptor<WebhookClient> = {
  name: "webhook",
  title: "Generic webhook (HMAC-signed JSON)",
  credentials: ["secret"],
  client: (url, credentials, env) => new WebhookClient(url, credentials, env.now),
  actions: { post },
};
