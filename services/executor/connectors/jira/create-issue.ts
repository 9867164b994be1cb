/**
 * `create_issue`: one ticket per incident. With a dedup key (the incident id), the issue is labelled
 * `riposte-<key>` and looked up first: a second decision about the same incident comments on the existing issue
 * instead of opening another. Not idempotent (a repeated POST opens a duplicate): after an attempt of unknown outcome
 * the executor asks `verify`, which searches by that label, and never re-sends blindly.
 */
import { z } from "zod";
import { RiposteError, isRiposteError } from "../../../shared/errors.ts";
import { action } from "../types.ts";
import { adf } from "./adf.ts";
import { DEDUP_KEY, JIRA_REQUESTS, dedupLabel, type JiraClient, type JiraIssueRef } from "./transport.ts";

/** Extra labels, comma- or space-separated (step params are strings). */
const Labels = z
  .string()
  .max(2000)
  .default("")
  .transform((s) => s.split(/[\s,]+/).filter((l) => l !== ""))
  .pipe(z.array(z.string().max(255, "a Jira label has at most 255 characters")).max(20));

export const CreateIssueInput = z.strictObject({
  /** One line, at most 255 characters (Jira's limit): longer is cut, newlines become spaces. */
  summary: z
    .string()
    .trim()
    .min(1)
    .transform((s) => s.replace(/\s+/g, " "))
    .transform((s) => (s.length > 255 ? `${s.slice(0, 254)}…` : s)),
  description: z.string().max(30_000).default(""),
  /** The incident id (or any stable key): one issue per key. */
  dedup_key: z.string().regex(DEDUP_KEY, "a dedup key is 1-200 letters, digits, '.', '_', ':' or '-'").optional(),
  /** What is added to the existing issue when the key already has one (default: the description, or the summary). */
  comment: z.string().max(30_000).optional(),
  issue_type: z.string().trim().min(1).max(60).default("Task"),
  labels: Labels,
  priority: z.string().trim().min(1).max(60).optional(),
});
type CreateIssue = z.infer<typeof CreateIssueInput>;

/** The issue's fields, as sent. */
export function issueFields(project: string, input: CreateIssue): Record<string, unknown> {
  const labels = ["riposte", ...(input.dedup_key ? [dedupLabel(input.dedup_key)] : []), ...input.labels];
  return {
    project: { key: project },
    issuetype: { name: input.issue_type },
    summary: input.summary,
    description: adf(input.description || input.summary),
    labels: [...new Set(labels)],
    ...(input.priority ? { priority: { name: input.priority } } : {}),
  };
}

const commentText = (input: CreateIssue) => input.comment ?? (input.description || input.summary);

/** A timeout or a 5xx: the request may have reached Jira and opened the issue. */
const mayHaveActed = (e: unknown) =>
  isRiposteError(e) && (e.code === "RIPOSTE_CONNECTOR_TIMEOUT" || e.code === "RIPOSTE_CONNECTOR_UNAVAILABLE");

async function comment(client: JiraClient, issue: JiraIssueRef, input: CreateIssue, signal: AbortSignal) {
  const res = await client.call(JIRA_REQUESTS.addComment(issue.key, adf(commentText(input))), signal, "add comment");
  const id = (res.body as { id?: unknown } | undefined)?.id;
  return { ...issue, created: false, comment_id: typeof id === "string" ? id : "" };
}

async function open(client: JiraClient, input: CreateIssue, signal: AbortSignal) {
  const res = await client.call(JIRA_REQUESTS.createIssue(issueFields(client.project, input)), signal, "create issue");
  return { ...client.ref(res.body as { id?: unknown; key?: unknown }, "create issue"), created: true };
}

/** Where a dry run shows the configured project and the key a search would find. */
const PROJECT = "{RIPOSTE_CONNECTOR_JIRA_PROJECT}";

export const createIssue = action({
  classification: "ticket",
  idempotent: false,
  description:
    "Open a Jira issue; with dedup_key (the incident id), comment on the issue already open for it instead of opening another",
  input: CreateIssueInput,
  resolve: async (client: JiraClient, { input, signal }) => {
    const found = input.dedup_key ? await client.findByDedupKey(input.dedup_key, signal) : undefined;
    return { id: found?.key ?? "", detail: found ? { found: true, ...found } : { found: false } };
  },
  verify: async (client: JiraClient, { input, signal }) => {
    if (!input.dedup_key)
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_REJECTED",
        "Jira create_issue without dedup_key cannot be verified (give the step a dedup_key, e.g. the incident id)",
      );
    const recorded = await client.registry.recorded(input.dedup_key);
    const found = recorded
      ? client.ref(recorded, "recorded ticket")
      : await client.findByDedupKey(input.dedup_key, signal);
    return {
      done: found !== undefined,
      response: found ? { ...found, created: true, verified: true } : { found: false, verified: true },
    };
  },
  run: async (client: JiraClient, { input, signal, resolved }) => {
    const found = resolved?.detail["found"] === true ? client.ref(resolved.detail, "search") : undefined;
    if (found) return comment(client, found, input, signal);
    if (!input.dedup_key) return open(client, input, signal);
    // The search found nothing; Riposte's own record covers a ticket opened a moment ago, or being opened now.
    const claim = await client.registry.claim(input.dedup_key);
    if (claim.state === "recorded") return comment(client, client.ref(claim.ref, "recorded ticket"), input, signal);
    let opened: Record<string, unknown> & JiraIssueRef;
    try {
      opened = await open(client, input, signal);
    } catch (e) {
      // The claim is kept (until it expires) when Jira may have opened the issue: another decision then waits
      // for the search to show it rather than open a second one.
      if (!mayHaveActed(e)) await claim.abandon();
      throw e;
    }
    // Not recording it only narrows the guard to Jira's search (the issue is open): the step still succeeded.
    await claim.finish({ id: opened.id, key: opened.key }).catch(() => undefined);
    return opened;
  },
  preview: (input) => [
    ...(input.dedup_key ? [JIRA_REQUESTS.searchByLabel(PROJECT, dedupLabel(input.dedup_key))] : []),
    JIRA_REQUESTS.createIssue(issueFields(PROJECT, input)),
  ],
});
