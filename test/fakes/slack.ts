/**
 * A Slack Web API fake for `chat.postMessage` (docs.slack.dev reference: chat.postMessage; Web API rate limits):
 * served under `/api`, a bot token as `Authorization: Bearer`, JSON `{channel, text, blocks}`. Answers HTTP 200 with
 * `{"ok": true, "channel", "ts", "message"}` or `{"ok": false, "error": "not_authed" | "invalid_auth" |
 * "channel_not_found" | "no_text" | "invalid_json"}`, and 429 + Retry-After with `{"ok": false, "error":
 * "ratelimited"}` as a fault. Tokens and channel ids are Riposte's own test values.
 */
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";

export const SLACK_TOKEN = "xoxb-riposte-test-0123456789";
export const SLACK_CHANNEL = "C0RIPOSTE1";

export interface SlackFake extends FakeServer {
  /** The API base URL to configure (`<url>/api`). */
  readonly api: string;
  /** Messages posted (the parsed bodies of successful posts). */
  readonly messages: Array<{ channel: string; text?: string; blocks?: unknown[] }>;
  /** chat.postMessage requests received, successful or not. */
  posts(): Recorded[];
}

/** A 429 as Slack sends it. */
export const slackRateLimited = (seconds: number): Reply => ({
  status: 429,
  headers: { "retry-after": String(seconds) },
  body: { ok: false, error: "ratelimited" },
});

/** An HTTP 200 with `ok: false` and the code. */
export const slackError = (error: string): Reply => ({ status: 200, body: { ok: false, error } });

export async function startSlackFake(channels: string[] = [SLACK_CHANNEL]): Promise<SlackFake> {
  const messages: SlackFake["messages"] = [];
  let ts = 1_700_000_000;
  const fake = await startFake((req) => {
    if (req.path !== "/api/chat.postMessage") return { status: 404, body: { ok: false, error: "unknown_method" } };
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (auth === undefined) return slackError("not_authed");
    if (auth !== SLACK_TOKEN) return slackError("invalid_auth");
    let body: { channel?: unknown; text?: unknown; blocks?: unknown };
    try {
      body = JSON.parse(req.body) as typeof body;
    } catch {
      return slackError("invalid_json");
    }
    if (typeof body.channel !== "string" || !channels.includes(body.channel)) return slackError("channel_not_found");
    if (typeof body.text !== "string" && !Array.isArray(body.blocks)) return slackError("no_text");
    const msg = {
      channel: body.channel,
      ...(typeof body.text === "string" ? { text: body.text } : {}),
      ...(Array.isArray(body.blocks) ? { blocks: body.blocks as unknown[] } : {}),
    };
    messages.push(msg);
    const id = `${++ts}.000100`;
    return {
      status: 200,
      body: { ok: true, channel: body.channel, ts: id, message: { type: "message", ts: id, ...msg } },
    };
  });
  return Object.assign(fake, {
    api: `${fake.url}/api`,
    messages,
    posts: () => fake.requests.filter((r) => r.path === "/api/chat.postMessage"),
  });
}
