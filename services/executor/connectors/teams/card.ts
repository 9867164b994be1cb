/**
 * The Adaptive Card of a decision, in the envelope a Teams Workflows webhook takes (`{type: "message",
 * attachments: [{contentType: "application/vnd.microsoft.card.adaptive", content}]}`). Every value from an alert is
 * a RichTextBlock TextRun, which Teams renders as plain text: a crafted user or host name cannot add a link or
 * markup (TextBlock and FactSet would render its Markdown).
 */
import { z } from "zod";

/** Text cut to `n` characters: a notification is not worth failing for a long user or host name. */
const clip = (n: number) => z.string().transform((s) => (s.length > n ? `${s.slice(0, n - 1)}…` : s));

export const CardInput = z.strictObject({
  title: clip(200).pipe(z.string().min(1)),
  decision: clip(200).pipe(z.string().min(1)),
  target: clip(500).optional(),
  rule: clip(200).optional(),
  reason: clip(2000).optional(),
  alert: clip(512).optional(),
  /** A link for the reader (a case, a console page): http(s) only, opened by the card's button. */
  link: z
    .string()
    .regex(/^https?:\/\/[^\s<>"]+$/, "an http(s) URL")
    .max(2000)
    .optional(),
});
export type CardInput = z.infer<typeof CardInput>;

const run = (text: string, bold = false) => ({ type: "TextRun", text, ...(bold ? { weight: "Bolder" } : {}) });
const line = (label: string, value: string) => ({
  type: "RichTextBlock",
  inlines: [run(`${label}: `, true), run(value)],
});

/** The Workflows payload for a decision. */
export function teamsPayload(m: CardInput): Record<string, unknown> {
  const body = [
    { type: "RichTextBlock", inlines: [{ ...run(m.title, true), size: "Medium" }] },
    line("Decision", m.decision),
    ...(m.target ? [line("Target", m.target)] : []),
    ...(m.rule ? [line("Rule", m.rule)] : []),
    ...(m.alert ? [line("Alert", m.alert), line("Trail", `GET /v1/alerts/${encodeURIComponent(m.alert)}/trail`)] : []),
    ...(m.reason ? [{ type: "RichTextBlock", inlines: [run(m.reason)] }] : []),
  ];
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body,
          ...(m.link ? { actions: [{ type: "Action.OpenUrl", title: "Open", url: m.link }] } : {}),
        },
      },
    ],
  };
}
