/**
 * A Jira Cloud REST API v3 fake speaking the documented shapes (developer.atlassian.com: "Create issue" →
 * 201 `{id, key, self}`, "Add comment" → 201 comment, "Search for issues using JQL enhanced search"
 * `GET /rest/api/3/search/jql` → `{issues, nextPageToken?, isLast}` paged by nextPageToken; errors as
 * `{errorMessages, errors}`), with basic auth (email:API token), ADF required for description and comment bodies,
 * labels without spaces, and 403 for a project the account may not create in.
 */
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";

export const JIRA_EMAIL = "soc-bot@example.com";
export const JIRA_TOKEN = "ATATT-riposte-test-token-0123456789";
export const JIRA_PROJECT = "SEC";

export interface JiraIssueRecord {
  id: string;
  key: string;
  fields: { summary: string; labels: string[]; description: unknown; issuetype: unknown; priority?: unknown };
  comments: Array<{ id: string; body: unknown }>;
  /** Found by search (Jira's index lags behind a create: see `lagIndex`). */
  indexed?: boolean;
}

export interface JiraFake extends FakeServer {
  readonly issues: JiraIssueRecord[];
  /** Projects whose issues the account may not create (403). */
  readonly forbidden: Set<string>;
  /** Hold the answer to each create this long after the issue exists (the caller times out; Jira did act). */
  holdCreateMs: number;
  /** While true, issues created are not found by search until `indexAll()` (Jira's index lags behind writes). */
  lagIndex: boolean;
  indexAll(): void;
  creates(): Recorded[];
  comments(): Recorded[];
  searches(): Recorded[];
}

export const jiraError = (status: number, messages: string[], errors: Record<string, string> = {}): Reply => ({
  status,
  body: { errorMessages: messages, errors },
});

const isAdf = (v: unknown) =>
  typeof v === "object" &&
  v !== null &&
  (v as { type?: unknown }).type === "doc" &&
  (v as { version?: unknown }).version === 1;

export async function startJiraFake(): Promise<JiraFake> {
  const issues: JiraIssueRecord[] = [];
  const forbidden = new Set<string>();
  const control = { holdCreateMs: 0, lagIndex: false };
  let seq = 10_000;
  const basic = `Basic ${Buffer.from(`${JIRA_EMAIL}:${JIRA_TOKEN}`).toString("base64")}`;
  const fake = await startFake((req) => {
    if (req.headers.authorization !== basic)
      return jiraError(401, ["Client must be authenticated to access this resource."]);
    if (req.method === "GET" && req.path === "/rest/api/3/search/jql") {
      const jql = req.query.get("jql") ?? "";
      const m = /^project = "([^"]+)" AND labels = "([^"]+)" ORDER BY created ASC$/.exec(jql);
      if (!m) return jiraError(400, [`Error in the JQL Query: ${jql.slice(0, 80)}`]);
      const hits = issues.filter(
        (i) => i.indexed !== false && i.key.startsWith(`${m[1]}-`) && i.fields.labels.includes(m[2] as string),
      );
      const max = Math.min(5000, Number(req.query.get("maxResults") ?? "50"));
      const start = Number(Buffer.from(req.query.get("nextPageToken") ?? "", "base64url").toString() || "0");
      const page = hits.slice(start, start + max);
      const more = start + max < hits.length;
      return {
        status: 200,
        body: {
          issues: page.map((i) => ({
            id: i.id,
            key: i.key,
            fields: { summary: i.fields.summary, status: { name: "To Do" } },
          })),
          ...(more ? { nextPageToken: Buffer.from(String(start + max)).toString("base64url") } : {}),
          isLast: !more,
        },
      };
    }
    if (req.method === "POST" && req.path === "/rest/api/3/issue") {
      let b: { fields?: Record<string, unknown> };
      try {
        b = JSON.parse(req.body) as typeof b;
      } catch {
        return jiraError(400, ["Unexpected character in the request body"]);
      }
      const f = b.fields ?? {};
      const project = (f["project"] as { key?: string } | undefined)?.key ?? "";
      if (project !== JIRA_PROJECT) return jiraError(400, [], { project: "valid project is required" });
      if (forbidden.has(project))
        return jiraError(403, ["You do not have permission to create issues in this project."]);
      if (typeof f["summary"] !== "string" || f["summary"] === "")
        return jiraError(400, [], { summary: "You must specify a summary of the issue." });
      if (f["summary"].length > 255)
        return jiraError(400, [], { summary: "Summary must be less than 255 characters." });
      if (f["description"] !== undefined && !isAdf(f["description"]))
        return jiraError(400, [], {
          description: "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        });
      const labels = Array.isArray(f["labels"]) ? (f["labels"] as string[]) : [];
      if (labels.some((l) => /\s/.test(l))) return jiraError(400, [], { labels: "The label must not contain spaces" });
      const id = String(++seq);
      const key = `${project}-${issues.length + 1}`;
      issues.push({
        id,
        key,
        fields: {
          summary: f["summary"],
          labels,
          description: f["description"],
          issuetype: f["issuetype"],
          priority: f["priority"],
        },
        comments: [],
        indexed: !control.lagIndex,
      });
      const reply: Reply = { status: 201, body: { id, key, self: `${fake.url}/rest/api/3/issue/${id}` } };
      return control.holdCreateMs > 0 ? { ...reply, delayMs: control.holdCreateMs } : reply;
    }
    const c = /^\/rest\/api\/3\/issue\/([^/]+)\/comment$/.exec(req.path);
    if (req.method === "POST" && c) {
      const issue = issues.find((i) => i.key === decodeURIComponent(c[1] as string) || i.id === c[1]);
      if (!issue) return jiraError(404, ["Issue does not exist or you do not have permission to see it."]);
      let b: { body?: unknown };
      try {
        b = JSON.parse(req.body) as typeof b;
      } catch {
        return jiraError(400, ["Unexpected character in the request body"]);
      }
      if (!isAdf(b.body)) return jiraError(400, ["Comment body is not valid!"]);
      const id = String(++seq);
      issue.comments.push({ id, body: b.body });
      return {
        status: 201,
        body: { id, self: `${fake.url}/rest/api/3/issue/${issue.id}/comment/${id}`, body: b.body },
      };
    }
    return jiraError(404, ["The requested resource could not be found."]);
  });
  return Object.defineProperties(
    Object.assign(fake, {
      issues,
      forbidden,
      creates: () => fake.requests.filter((r) => r.method === "POST" && r.path === "/rest/api/3/issue"),
      comments: () => fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/comment")),
      indexAll: () => issues.forEach((i) => (i.indexed = true)),
      searches: () => fake.requests.filter((r) => r.path === "/rest/api/3/search/jql"),
    }),
    {
      holdCreateMs: {
        get: () => control.holdCreateMs,
        set: (ms: number) => void (control.holdCreateMs = ms),
        enumerable: true,
      },
      lagIndex: {
        get: () => control.lagIndex,
        set: (on: boolean) => void (control.lagIndex = on),
        enumerable: true,
      },
    },
  ) as JiraFake;
}
