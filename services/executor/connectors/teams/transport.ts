/**
 * The Teams Workflows webhook transport (learn.microsoft.com "Create incoming webhooks with Workflows for Microsoft
 * Teams"; the Power Automate trigger "When a Teams webhook request is received"): one POST of the card to the
 * configured URL, whose `sig` query parameter is its only credential, so the URL never appears in a message, span
 * or audit record. The flow answers 202 Accepted; a legacy Office 365 connector URL answers 200 and reports a
 * failed delivery in its text body, which is read rather than trusted.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import { teamsPayload, type CardInput } from "./card.ts";

const CHECK_URL =
  "check RIPOSTE_CONNECTOR_TEAMS_URL: copy the Workflows URL again (its sig parameter is the credential), and check that the flow is turned on";

/** The coded error of a Workflows answer that is not an acceptance. */
export function teamsError(res: HttpResponse): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const e = (typeof b["error"] === "object" && b["error"] !== null ? b["error"] : {}) as Record<string, unknown>;
  const code = typeof e["code"] === "string" ? e["code"] : "";
  const said = redactUrls(`Teams post_message: HTTP ${res.status}${code ? ` ${code}` : ""}`);
  if (res.status === 429) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status === 401 || res.status === 403)
    return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_URL})`);
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", `${said} (${CHECK_URL})`);
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", `${said} (the flow refused the payload)`);
}

export class TeamsClient {
  readonly http: HttpTransport;
  /** The configured URL's path and query, sent as they are. */
  private readonly target: string;

  constructor(url: string) {
    const u = new URL(url);
    this.http = new HttpTransport("Teams", u.origin);
    this.target = `${u.pathname}${u.search}`;
  }

  async post(m: CardInput, signal: AbortSignal): Promise<Record<string, unknown>> {
    const res = await this.http.send({ method: "POST", path: this.target, json: teamsPayload(m), signal });
    if (res.status === 202) return { status: 202, accepted: true };
    if (res.status === 200) {
      // The legacy connector says "1" when it delivered, and 200 with a sentence when it did not.
      const text = typeof res.body === "string" ? res.body.trim() : JSON.stringify(res.body ?? "");
      if (text === "1" || text === "") return { status: 200, accepted: true };
      const rate = /\b429\b/.test(text);
      throw new RiposteError(
        rate ? "RIPOSTE_CONNECTOR_RATE_LIMITED" : "RIPOSTE_CONNECTOR_REJECTED",
        redactUrls(`Teams post_message: HTTP 200 but not delivered: ${text.slice(0, 200)}`),
      );
    }
    throw teamsError(res);
  }
}
