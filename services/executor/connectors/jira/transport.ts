/**
 * Jira Cloud REST API v3 (developer.atlassian.com: "Create issue", "Add comment", "Search for issues using JQL
 * enhanced search", "Rate limiting"): basic auth with the account's email and an API token, JSON bodies with
 * descriptions and comments in the Atlassian Document Format, errors as `{errorMessages, errors}`, 429 (and some
 * 503s) with Retry-After.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpRequest, type HttpResponse } from "../http.ts";
import { TicketRegistry } from "../ticket-registry.ts";
import type { ConnectorEnv, PlannedRequest } from "../types.ts";

const CHECK_AUTH =
  "check RIPOSTE_CONNECTOR_JIRA_EMAIL and RIPOSTE_CONNECTOR_JIRA_API_TOKEN: the Atlassian account's email and an API token of it";
const CHECK_PERMISSION =
  "the account lacks a permission: give it Browse projects, Create issues and Add comments in RIPOSTE_CONNECTOR_JIRA_PROJECT";

/** A dedup key's label, `riposte-<key>`: labels cannot hold spaces, so keys are limited to a safe alphabet. */
export const DEDUP_KEY = /^[A-Za-z0-9._:-]{1,200}$/;
export const dedupLabel = (key: string) => `riposte-${key}`;

/** An issue key (`SEC-24`). */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,9}$/;

/** The coded error of a Jira error answer, with Jira's own messages and what to check. */
export function jiraError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const messages = Array.isArray(b["errorMessages"]) ? b["errorMessages"].filter((m) => typeof m === "string") : [];
  const fields =
    typeof b["errors"] === "object" && b["errors"] !== null
      ? Object.entries(b["errors"] as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`)
      : [];
  const detail = [...messages, ...fields].join("; ").slice(0, 400);
  if (detail === "" && res.status !== 401 && res.status !== 403) return httpError("Jira", res, what);
  const said = redactUrls(`Jira ${what}: HTTP ${res.status}${detail ? ` ${detail}` : ""}`);
  if (res.status === 401) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_AUTH})`);
  if (res.status === 403) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_PERMISSION})`);
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status === 429 || res.status >= 500) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    const code = res.status === 429 ? "RIPOSTE_CONNECTOR_RATE_LIMITED" : "RIPOSTE_CONNECTOR_UNAVAILABLE";
    return new RiposteError(code, said, after === undefined ? {} : { retryAfterMs: after });
  }
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** The requests of each call, shared by the calls and the dry-run preview. */
export const JIRA_REQUESTS = {
  /** The oldest issue of the project carrying the label (a second one would be a duplicate made by hand). */
  searchByLabel: (project: string, label: string): PlannedRequest => ({
    method: "GET",
    path: `/rest/api/3/search/jql?${new URLSearchParams({
      jql: `project = "${project}" AND labels = "${label}" ORDER BY created ASC`,
      fields: "summary,status",
      maxResults: "1",
    }).toString()}`,
  }),
  createIssue: (fields: Record<string, unknown>): PlannedRequest => ({
    method: "POST",
    path: "/rest/api/3/issue",
    body: { fields },
  }),
  addComment: (key: string, body: unknown): PlannedRequest => ({
    method: "POST",
    path: `/rest/api/3/issue/${encodeURIComponent(key)}/comment`,
    body: { body },
  }),
} as const;

export interface JiraIssueRef {
  readonly id: string;
  readonly key: string;
  readonly url: string;
}

export class JiraClient {
  readonly http: HttpTransport;
  readonly project: string;
  /** The incidents' tickets as Riposte opened them (shared by every executor). */
  readonly registry: TicketRegistry;
  private readonly site: string;
  private readonly auth: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>, env: ConnectorEnv) {
    this.http = new HttpTransport("Jira", url);
    this.registry = new TicketRegistry(env, "jira");
    this.site = url.replace(/\/+$/, "");
    this.project = (credentials["project"] ?? "").trim();
    if (!/^[A-Z][A-Z0-9_]{0,49}$/.test(this.project))
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        "RIPOSTE_CONNECTOR_JIRA_PROJECT must be a Jira project key (upper-case letters, digits, '_'; e.g. SEC)",
      );
    const basic = Buffer.from(`${credentials["email"] ?? ""}:${credentials["api_token"] ?? ""}`).toString("base64");
    this.auth = `Basic ${basic}`;
  }

  /** The browse URL of an issue (for humans; the site is the configured URL). */
  browse(key: string): string {
    return `${this.site}/browse/${encodeURIComponent(key)}`;
  }

  /** Sends a planned request with basic auth; throws the coded error unless 2xx. */
  async call(planned: PlannedRequest, signal: AbortSignal, what: string): Promise<HttpResponse> {
    const [path = "", query] = planned.path.split("?");
    const req: HttpRequest = {
      method: planned.method as HttpRequest["method"],
      path,
      ...(query ? { query: Object.fromEntries(new URLSearchParams(query)) } : {}),
      headers: { authorization: this.auth },
      ...(planned.body === undefined ? {} : { json: planned.body }),
      signal,
    };
    const res = await this.http.send(req);
    if (res.status < 200 || res.status > 299) throw jiraError(res, what);
    return res;
  }

  /** The oldest issue of the project labelled `riposte-<dedupKey>`, or undefined. */
  async findByDedupKey(dedupKey: string, signal: AbortSignal): Promise<JiraIssueRef | undefined> {
    const res = await this.call(JIRA_REQUESTS.searchByLabel(this.project, dedupLabel(dedupKey)), signal, "search");
    const b = res.body as { issues?: unknown } | undefined;
    if (typeof b !== "object" || b === null || !Array.isArray(b.issues))
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Jira search: the answer has no issues list");
    const first = b.issues[0] as { id?: unknown; key?: unknown } | undefined;
    if (!first) return undefined;
    return this.ref(first, "search");
  }

  /** An issue reference from an answer's `{id, key}`, refusing an answer without them. */
  ref(b: { id?: unknown; key?: unknown } | undefined, what: string): JiraIssueRef {
    const id = b?.id;
    const key = b?.key;
    if (typeof key !== "string" || !ISSUE_KEY.test(key) || (typeof id !== "string" && typeof id !== "number"))
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `Jira ${what}: the answer has no issue id and key`);
    return { id: String(id), key, url: this.browse(key) };
  }
}
