/**
 * The Slack transport: `chat.postMessage` with the bot token as `Authorization: Bearer`. Slack answers most errors
 * with HTTP 200 and `{"ok": false, "error": "<code>"}`, and rate limits with 429 + Retry-After; both become coded
 * errors here.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import { SLACK_REQUESTS, type MessageInput } from "./message.ts";

const CHECK_TOKEN =
  "check RIPOSTE_CONNECTOR_SLACK_BOT_TOKEN: a bot token (xoxb-) of an installed app with the chat:write scope";

/** Slack error codes by what they mean for a retry. */
const AUTH = new Set([
  "not_authed",
  "invalid_auth",
  "token_revoked",
  "token_expired",
  "account_inactive",
  "no_permission",
  "missing_scope",
  "not_allowed_token_type",
  "ekm_access_denied",
]);
const RATE = new Set(["ratelimited", "rate_limited"]);
const CHANNEL = new Set(["channel_not_found", "not_in_channel", "is_archived"]);
/** Slack may have posted before failing ("some aspect of the operation succeeded"): retriable only when unsent. */
const TRANSIENT = new Set(["internal_error", "fatal_error", "request_timeout", "service_unavailable"]);

/** The coded error of a Slack answer that is not `ok: true` (HTTP 200 with `ok: false`, 429, 5xx, ...). */
export function slackError(res: HttpResponse): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const code = typeof b["error"] === "string" ? b["error"] : "";
  const said = redactUrls(`Slack chat.postMessage: HTTP ${res.status}${code ? ` ${code}` : ""}`);
  if (res.status === 429 || RATE.has(code)) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (AUTH.has(code) || res.status === 401 || res.status === 403)
    return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_TOKEN})`);
  if (CHANNEL.has(code))
    return new RiposteError(
      "RIPOSTE_CONNECTOR_REJECTED",
      `${said} (check RIPOSTE_CONNECTOR_SLACK_CHANNEL: a channel id the bot is a member of, e.g. /invite the app)`,
    );
  if (TRANSIENT.has(code)) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  if (res.status >= 200 && res.status <= 299) {
    return code === ""
      ? new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `${said}: the answer is not a Slack API response`)
      : new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
  }
  return httpError("Slack", res, "chat.postMessage");
}

export class SlackClient {
  readonly http: HttpTransport;
  private readonly token: string;
  readonly channel: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("Slack", url);
    this.token = credentials["bot_token"] ?? "";
    this.channel = credentials["channel"] ?? "";
  }

  async post(m: MessageInput, signal: AbortSignal): Promise<Record<string, unknown>> {
    const planned = SLACK_REQUESTS.postMessage(this.channel, m);
    const res = await this.http.send({
      method: "POST",
      path: planned.path,
      json: planned.body,
      headers: { authorization: `Bearer ${this.token}` },
      signal,
    });
    const b = res.body as { ok?: unknown; channel?: unknown; ts?: unknown } | undefined;
    if (res.status !== 200 || typeof b !== "object" || b === null || b.ok !== true) throw slackError(res);
    return { channel: b.channel, ts: b.ts };
  }
}
