/** The Slack message of a decision: Block Kit blocks with every alert value as plain_text. */
import { z } from "zod";
import type { PlannedRequest } from "../types.ts";

/** Text cut to `n` characters: a notification is not worth failing for a long user or host name. */
const clip = (n: number) => z.string().transform((s) => (s.length > n ? `${s.slice(0, n - 1)}…` : s));

export const MessageInput = z.strictObject({
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
export type MessageInput = z.infer<typeof MessageInput>;

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
