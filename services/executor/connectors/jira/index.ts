/**
 * Jira Cloud: `create_issue` (one issue per incident: found again by its `riposte-<dedup key>` label and commented
 * on) and `add_comment`. Configured by RIPOSTE_CONNECTOR_JIRA_URL (`https://<site>.atlassian.net`), _EMAIL,
 * _API_TOKEN and _PROJECT (the project key).
 */
import type { ConnectorDescriptor } from "../types.ts";
import { addComment } from "./add-comment.ts";
import { createIssue } from "./create-issue.ts";
import { JiraClient } from "./transport.ts";

export { adf } from "./adf.ts";
export { JiraClient, jiraError } from "./transport.ts";

export const jira: ConnectorDescriptor<JiraClient> = {
  name: "jira",
  title: "Jira Cloud",
  credentials: ["email", "api_token", "project"],
  client: (url, credentials, env) => new JiraClient(url, credentials, env),
  actions: { create_issue: createIssue, add_comment: addComment },
};
