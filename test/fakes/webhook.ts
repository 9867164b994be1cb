/**
 * A webhook receiver that checks Riposte's signature the way Riposte's own ingest does
 * (`signatureProblem` of services/api/auth.ts: `X-Riposte-Signature: t=..,v1=..` over `<t>.POST.<path>.<body>`)
 * and de-duplicates by `Idempotency-Key`: 401 for a bad or missing signature, 200 for a delivery, the first one per
 * key counted as new.
 */
import { signatureProblem } from "../../services/api/auth.ts";
import { startFake, type FakeServer } from "./http.ts";

export const WEBHOOK_SECRET = "riposte-webhook-secret-0123456789";

export interface WebhookFake extends FakeServer {
  /** Deliveries accepted, in order, with their parsed bodies. */
  readonly deliveries: Array<{ key: string; body: Record<string, unknown>; duplicate: boolean }>;
  /** Deliveries that were new (first of their idempotency key). */
  unique(): number;
}

export async function startWebhookFake(secret = WEBHOOK_SECRET, path = "/hooks/riposte"): Promise<WebhookFake> {
  const deliveries: WebhookFake["deliveries"] = [];
  const seen = new Set<string>();
  const fake = await startFake((req) => {
    if (req.method !== "POST" || req.path !== path) return { status: 404, body: { error: "no such hook" } };
    const header = req.headers["x-riposte-signature"];
    const problem = signatureProblem(
      typeof header === "string" ? header : undefined,
      "POST",
      req.path,
      Buffer.from(req.body),
      secret,
      Date.now(),
      300_000,
    );
    if (problem) return { status: 401, body: { error: problem } };
    const key = req.headers["idempotency-key"];
    if (typeof key !== "string" || key === "") return { status: 400, body: { error: "Idempotency-Key is required" } };
    const duplicate = seen.has(key);
    seen.add(key);
    deliveries.push({ key, body: JSON.parse(req.body) as Record<string, unknown>, duplicate });
    return { status: 200, body: { received: true, duplicate } };
  });
  return Object.assign(fake, {
    deliveries,
    unique: () => deliveries.filter((d) => !d.duplicate).length,
  });
}
