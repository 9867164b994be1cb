/**
 * Slack Web API `chat.postMessage` (docs.slack.dev reference: chat.postMessage, Web API rate limits): a bot token
 * as `Authorization: Bearer`, a JSON body `{channel, text, blocks}`. Slack answers most errors with HTTP 200 and
 * `{"ok": false, "error": "<code>"}`, and rate limits with 429 + Retry-After; both become coded errors here.
 */
import { z } from "zod";
import { RiposteError } from "../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "./http.ts";
import { action, type ConnectorDescriptor, type PlannedRequest } from "./types.ts";

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

/** Text cut to `n` characters: a notification is not worth failing for a long user or host name. */
const clip = (n: number) => z.string().transform((s) => (s.length > n ? `${s.slice(0, n - 1)}…` : s));

const MessageInput = z.strictObject({
  /** The headline: what happened (`Sessions revoked for alice@example.com`); Slack's header takes 150 characters. */
  title: clip(150).pipe(z.string().min(1)),
  decision: clip(200).pipe(z.string().min(1)),
  target: clip(500).optional(),
  rule: clip(200).optional(),
  reason: clip(2000).optional(),
  alert: clip(512).optional(),
  /** A link for the reader (a case, a console page): http(s) only. */
  link: z
    .string()
    .regex(/^https?:\/\/[^\s<>|]+$/, "an http(s) URL")
    .optional(),
});
type MessageInput = z.infer<typeof MessageInput>;

/**
 * The message: every value from an alert is plain_text, never mrkdwn, so a crafted user or host name cannot
 * mention @channel or forge a link.
 */
export function slackMessage(channel: string, m: MessageInput): Record<string, unknown> {
  const plain = (text: string) => ({ type: "plain_text", text, emoji: false });
  const fields = [
    plain(`Decision: ${m.decision}`),
    ...(m.target ? [plain(`Target: ${m.target}`)] : []),
    ...(m.rule ? [plain(`Rule: ${m.rule}`)] : []),
    ...(m.alert ? [plain(`Alert: ${m.alert}`)] : []),
  ];
  const links = [
    ...(m.alert ? [`trail: GET /v1/alerts/${encodeURIComponent(m.alert)}/trail`] : []),
    ...(m.link ? [`<${m.link}|open>`] : []),
  ];
  const blocks = [
    { type: "header", text: plain(m.title) },
    { type: "section", fields },
    ...(m.reason ? [{ type: "section", text: plain(m.reason) }] : []),
    ...(links.length > 0 ? [{ type: "context", elements: [{ type: "mrkdwn", text: links.join(" · ") }] }] : []),
  ];
  const text = [m.title, m.target, m.rule && `rule ${m.rule}`, `decision ${m.decision}`].filter(Boolean).join(" · ");
  return { channel, text, blocks };
}

export const SLACK_REQUESTS = {
  postMessage: (channel: string, m: MessageInput): PlannedRequest => ({
    method: "POST",
    path: "/chat.postMessage",
    body: slackMessage(channel, m),
  }),
} as const;

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

export const slack: ConnectorDescriptor<SlackClient> = {
  name: "slack",
  title: "Slack",
  credentials: ["bot_token", "channel"],
  client: (url, credentials) => new SlackClient(url, credentials),
  actions: {
    post_message: action({
      classification: "notify",
      // A resent message is a second message (chat.postMessage has no idempotency key); to take one back, chat.delete
      // with the channel and ts the audit record keeps.
      idempotent: false,
      description: "Post the decision (target, rule, reason, links) to the configured Slack channel",
      input: MessageInput,
      run: async (client: SlackClient, { input, signal }) => client.post(input, signal),
      preview: (input) => [SLACK_REQUESTS.postMessage("<RIPOSTE_CONNECTOR_SLACK_CHANNEL>", input)],
    }),
  },
};
