/** `add_comment`: a comment on an issue. Not idempotent (each POST adds one) and not verifiable by the connector. */
import { z } from "zod";
import { action } from "../types.ts";
import { adf } from "./adf.ts";
import { ISSUE_KEY, JIRA_REQUESTS, type JiraClient } from "./transport.ts";

export const AddCommentInput = z.strictObject({
  issue: z.string().trim().regex(ISSUE_KEY, "an issue key such as SEC-24"),
  text: z.string().trim().min(1).max(30_000),
});

export const addComment = action({
  classification: "ticket",
  idempotent: false,
  description: "Add a comment to a Jira issue",
  input: AddCommentInput,
  run: async (client: JiraClient, { input, signal }) => {
    const res = await client.call(JIRA_REQUESTS.addComment(input.issue, adf(input.text)), signal, "add comment");
    const id = (res.body as { id?: unknown } | undefined)?.id;
    return { key: input.issue, url: client.browse(input.issue), comment_id: typeof id === "string" ? id : "" };
  },
  preview: (input) => [JIRA_REQUESTS.addComment(input.issue, adf(input.text))],
});
