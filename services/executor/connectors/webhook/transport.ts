/**
 * The webhook transport: the JSON body in a fixed key order, its HMAC-SHA256 signature (the same scheme as
 * Riposte's ingest, services/api/auth.ts) and an Idempotency-Key derived from the body.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { signRequest } from "../../../api/auth.ts";
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError } from "../http.ts";

export const SummaryInput = z.strictObject({
  decision: z.string().min(1).max(200),
  title: z.string().max(500).optional(),
  target_type: z.string().max(50).optional(),
  target: z.string().max(500).optional(),
  rule: z.string().max(200).optional(),
  reason: z.string().max(2000).optional(),
  alert: z.string().max(512).optional(),
  playbook: z.string().max(200).optional(),
});
export type SummaryInput = z.infer<typeof SummaryInput>;

/** The JSON body: the summary's fields in a fixed order, so one decision always gives the same bytes. */
export function webhookBody(s: SummaryInput): string {
  const keys = ["decision", "title", "target_type", "target", "rule", "reason", "alert", "playbook"] as const;
  return JSON.stringify(Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]])));
}

/** The idempotency key of a body: its digest (the body names the decision, and a retry sends the same bytes). */
export const idempotencyKey = (body: string) => createHash("sha256").update(body).digest("hex").slice(0, 32);

export class WebhookClient {
  readonly http: HttpTransport;
  /** The path of the configured URL, sent and signed exactly. */
  readonly path: string;
  private readonly secret: string;
  private readonly now: () => number;

  constructor(url: string, credentials: Readonly<Record<string, string>>, now: () => number = Date.now) {
    // The transport resolves paths under a base ending in '/'; the receiver's URL is sent as configured instead.
    const u = new URL(url);
    this.http = new HttpTransport("Webhook", u.origin);
    this.path = u.pathname;
    this.secret = credentials["secret"] ?? "";
    this.now = now;
  }

  async post(s: SummaryInput, signal: AbortSignal): Promise<Record<string, unknown>> {
    const body = webhookBody(s);
    const key = idempotencyKey(body);
    const res = await this.http.send({
      method: "POST",
      path: this.path,
      headers: {
        "content-type": "application/json",
        "x-riposte-signature": signRequest("POST", this.path, body, this.secret, this.now()),
        "idempotency-key": key,
      },
      // Serialised again by the transport: the same bytes, as the body has only strings in a fixed key order.
      json: JSON.parse(body) as unknown,
      signal,
    });
    if (res.status === 401 || res.status === 403) {
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_AUTH",
        `Webhook post: HTTP ${res.status} (check RIPOSTE_CONNECTOR_WEBHOOK_SECRET: the receiver must verify the signature with the same secret)`,
      );
    }
    if (res.status < 200 || res.status > 299) throw httpError("Webhook", res, "post");
    return { status: res.status, idempotency_key: key };
  }
}
