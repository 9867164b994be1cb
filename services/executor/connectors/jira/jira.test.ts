/** The Jira connector against the Jira fake, through the executor: one ticket per incident, exactly once. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  JIRA_EMAIL,
  JIRA_PROJECT,
  JIRA_TOKEN,
  jiraError,
  startJiraFake,
  type JiraFake,
} from "../../../../test/fakes/jira.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { targetKey, type Decision } from "../../../../schemas/index.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { MemoryState, stateKey } from "../../../shared/state/index.ts";
import { actionIdOf } from "../../executor.ts";
import { adf, jira } from "./index.ts";

const CREDS = { email: JIRA_EMAIL, api_token: JIRA_TOKEN, project: JIRA_PROJECT };
const TARGET = { type: "host" as const, value: "ws-042" };

const create = (params: Record<string, string> = {}, over: Record<string, unknown> = {}) =>
  playbookOf("jira-test", [
    {
      id: "s",
      connector: "jira",
      action: "create_issue",
      params: {
        summary: "Contained {{target.value}}",
        description: "Host contained.\n\nRule: test",
        dedup_key: "inc-1234",
        ...params,
      },
      ...over,
    },
  ]);

/** As if an earlier executor had begun this step's call and died before recording how it ended. */
async function earlierAttempt(state: MemoryState, d: Decision) {
  await state.seen(stateKey("steps", targetKey(TARGET), "attempt", actionIdOf(d.id, "s")), 60_000);
}

describe("jira connector", () => {
  let fake: JiraFake;
  before(async () => {
    fake = await startJiraFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.issues.length = 0;
    fake.forbidden.clear();
    fake.holdCreateMs = 0;
    fake.lagIndex = false;
  });

  const run = (
    playbook = create(),
    opts: { creds?: Record<string, string>; state?: MemoryState; decisions?: Decision[] } = {},
  ) =>
    runDecisions({
      playbook,
      decisions: opts.decisions ?? [decisionFor("jira-test", TARGET)],
      connectorConfig: { jira: live(fake.url, opts.creds ?? CREDS) },
      ...(opts.state ? { state: opts.state } : {}),
    });

  test("reads exactly RIPOSTE_CONNECTOR_JIRA_URL, _EMAIL, _API_TOKEN and _PROJECT", () => {
    assert.deepEqual(connectorVariables(jira), [
      "RIPOSTE_CONNECTOR_JIRA_URL",
      "RIPOSTE_CONNECTOR_JIRA_EMAIL",
      "RIPOSTE_CONNECTOR_JIRA_API_TOKEN",
      "RIPOSTE_CONNECTOR_JIRA_PROJECT",
    ]);
  });

  test("create_issue searches by the dedup label, then creates one issue with an ADF description (basic auth)", async () => {
    const [a] = await run();
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "ticket");
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      ["GET /rest/api/3/search/jql", "POST /rest/api/3/issue"],
    );
    assert.equal(
      fake.requests[0]?.query.get("jql"),
      `project = "${JIRA_PROJECT}" AND labels = "riposte-inc-1234" ORDER BY created ASC`,
    );
    const basic = `Basic ${Buffer.from(`${JIRA_EMAIL}:${JIRA_TOKEN}`).toString("base64")}`;
    assert.ok(fake.requests.every((r) => r.headers.authorization === basic));
    assert.deepEqual(JSON.parse(fake.creates()[0]?.body ?? ""), {
      fields: {
        project: { key: "SEC" },
        issuetype: { name: "Task" },
        summary: "Contained ws-042",
        description: {
          type: "doc",
          version: 1,
          content: [
            { type: "paragraph", content: [{ type: "text", text: "Host contained." }] },
            { type: "paragraph", content: [{ type: "text", text: "Rule: test" }] },
          ],
        },
        labels: ["riposte", "riposte-inc-1234"],
      },
    });
    assert.deepEqual(a?.response, { id: "10001", key: "SEC-1", url: `${fake.url}/browse/SEC-1`, created: true });
  });

  test("a second decision about the same incident comments on its ticket instead of opening another", async () => {
    await run();
    const [second] = await run(create({ comment: "Second alert: lateral movement" }));
    assert.equal(second?.status, "succeeded", JSON.stringify(second));
    assert.equal(second?.response?.["created"], false);
    assert.equal(second?.response?.["key"], "SEC-1");
    assert.equal(fake.creates().length, 1, "one issue");
    assert.equal(fake.comments().length, 1);
    assert.equal(fake.comments()[0]?.path, "/rest/api/3/issue/SEC-1/comment");
    assert.deepEqual(fake.issues[0]?.comments[0]?.body, adf("Second alert: lateral movement"));
    const [other] = await run(create({ dedup_key: "inc-9999" }));
    assert.equal(other?.response?.["key"], "SEC-2", "another incident, another issue");
  });

  test("Jira's search lagging behind the create: the second decision comments on the ticket Riposte recorded", async () => {
    fake.lagIndex = true;
    const state = new MemoryState();
    const [a] = await run(create(), { state });
    const [b] = await run(create({ comment: "again" }), { state });
    assert.equal(a?.response?.["created"], true);
    assert.equal(b?.status, "succeeded", JSON.stringify(b));
    assert.equal(b?.response?.["created"], false);
    assert.equal(b?.response?.["key"], "SEC-1");
    assert.equal(fake.creates().length, 1, "one issue although the search found none");
    assert.equal(fake.comments().length, 1);
  });

  test("two executors deciding about the same incident at once open one issue and comment on it", async () => {
    fake.lagIndex = true;
    fake.holdCreateMs = 300;
    const state = new MemoryState();
    const both = await Promise.all([run(create(), { state }), run(create({ comment: "at once" }), { state })]);
    assert.deepEqual(
      both.map(([r]) => r?.status),
      ["succeeded", "succeeded"],
      JSON.stringify(both),
    );
    assert.deepEqual(both.map(([r]) => r?.response?.["created"]).sort(), [false, true]);
    assert.equal(fake.creates().length, 1, "exactly one create");
    assert.equal(fake.comments().length, 1);
  });

  test("a create that fails gives its claim back: the next decision opens the issue", async () => {
    const state = new MemoryState();
    fake.faults.push({ status: 200, body: { issues: [], isLast: true } }, jiraError(400, [], { summary: "bad" }));
    const [a] = await run(create(), { state });
    assert.equal(a?.status, "failed");
    const [b] = await run(create(), { state });
    assert.equal(b?.response?.["created"], true);
    assert.equal(fake.issues.length, 1);
  });

  test("an earlier attempt of unknown outcome that did create the issue: verify finds it, nothing is sent", async () => {
    const state = new MemoryState();
    const d = decisionFor("jira-test", TARGET);
    fake.issues.push({
      id: "10500",
      key: "SEC-1",
      fields: { summary: "x", labels: ["riposte-inc-1234"], description: null, issuetype: null },
      comments: [],
    });
    await earlierAttempt(state, d);
    const [a] = await run(create(), { state, decisions: [d] });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.response?.["verified"], true);
    assert.equal(a?.response?.["key"], "SEC-1");
    assert.equal(fake.creates().length + fake.comments().length, 0, "neither created nor commented again");
  });

  test("an earlier attempt of unknown outcome that never reached Jira: verify finds nothing, one create", async () => {
    const state = new MemoryState();
    const d = decisionFor("jira-test", TARGET);
    await earlierAttempt(state, d);
    const [a] = await run(create(), { state, decisions: [d] });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.response?.["created"], true);
    assert.equal(fake.creates().length, 1);
  });

  test("unknown outcome and Jira cannot be asked: unknown_outcome for a human, never re-sent", async () => {
    const state = new MemoryState();
    const d = decisionFor("jira-test", TARGET);
    await earlierAttempt(state, d);
    // The resolve's search succeeds; verify's searches (first try and two retries) all fail.
    fake.faults.push(
      { status: 200, body: { issues: [], isLast: true } },
      ...[1, 2, 3].map(() => jiraError(503, ["Service unavailable"])),
    );
    const [a] = await run(create(), { state, decisions: [d] });
    assert.equal(a?.status, "unknown_outcome", JSON.stringify(a));
    assert.match(String(a?.response?.["reason"]), /check by hand/);
    assert.equal(fake.creates().length, 0);
  });

  test("without a dedup key, an attempt of unknown outcome is not re-sent either", async () => {
    const state = new MemoryState();
    const d = decisionFor("jira-test", TARGET);
    await earlierAttempt(state, d);
    const noKey = playbookOf("jira-test", [
      { id: "s", connector: "jira", action: "create_issue", params: { summary: "Contained ws-042" } },
    ]);
    const [a] = await run(noKey, { state, decisions: [d] });
    assert.equal(a?.status, "unknown_outcome", JSON.stringify(a));
    assert.equal(fake.requests.length, 0);
  });

  test("a create whose answer is lost (timeout) is not resent; the next decision finds the ticket and comments", async () => {
    fake.holdCreateMs = 1_500;
    const [a] = await run(create({}, { timeout: "300ms" }));
    assert.equal(a?.status, "failed", JSON.stringify(a));
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_TIMEOUT");
    assert.equal(fake.creates().length, 1, "sent once, not retried");
    fake.holdCreateMs = 0;
    const [b] = await run();
    assert.equal(b?.response?.["created"], false);
    assert.equal(fake.creates().length, 1);
    assert.equal(fake.comments().length, 1);
  });

  test("a lost answer while the search lags: the claim stays, the next decision waits instead of duplicating", async () => {
    fake.lagIndex = true;
    fake.holdCreateMs = 1_500;
    const state = new MemoryState();
    const [a] = await run(create({}, { timeout: "300ms" }), { state });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_TIMEOUT");
    fake.holdCreateMs = 0;
    const [b] = await run(create(), { state });
    assert.equal(b?.status, "failed", JSON.stringify(b));
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_RATE_LIMITED");
    assert.match(b?.error?.message ?? "", /another executor is opening the jira ticket for inc-1234/);
    assert.equal(fake.creates().length, 1, "never a second issue");
  });

  test("5xx on the create is not retried (Jira may have acted); 429 is (it did not)", async () => {
    fake.faults.push({ status: 200, body: { issues: [], isLast: true } }, jiraError(500, ["Internal server error"]));
    const [a] = await run();
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_UNAVAILABLE");
    assert.equal(fake.creates().length, 1);
    fake.requests.length = 0;
    fake.faults.push(
      { status: 200, body: { issues: [], isLast: true } },
      {
        ...jiraError(429, ["Rate limit exceeded."]),
        headers: { "retry-after": "0", "ratelimit-reason": "jira-burst-based" },
      },
    );
    const [b] = await run();
    assert.equal(b?.status, "succeeded", JSON.stringify(b));
    assert.equal(fake.creates().length, 2, "the refused create, then the one that worked");
    assert.equal(fake.issues.length, 1);
  });

  test("a failed or malformed search is retried before anything is created", async () => {
    fake.faults.push(jiraError(503, ["Service unavailable"]), {
      status: 200,
      raw: "{not json",
      headers: { "content-type": "application/json" },
    });
    const [a] = await run();
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.searches().length, 3);
    assert.equal(fake.creates().length, 1);
  });

  test("401 and 403 are auth errors that say what to check; 400 names Jira's field errors; nothing retried", async () => {
    const [bad] = await run(create(), { creds: { ...CREDS, api_token: "wrong-token-123" } });
    assert.equal(bad?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(bad?.error?.message ?? "", /RIPOSTE_CONNECTOR_JIRA_API_TOKEN/);
    assert.ok(!JSON.stringify(bad).includes("wrong-token-123"));
    assert.equal(fake.requests.length, 1);
    fake.forbidden.add("SEC");
    const [forbidden] = await run();
    assert.equal(forbidden?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(forbidden?.error?.message ?? "", /permission/);
    fake.forbidden.clear();
    const [rejected] = await run(create({ issue_type: "Bug" }), { creds: { ...CREDS, project: "OPS" } });
    assert.equal(rejected?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(rejected?.error?.message ?? "", /project: valid project is required/);
  });

  test("409 on the create is a rejection with Jira's message, not retried", async () => {
    fake.faults.push(
      { status: 200, body: { issues: [], isLast: true } },
      jiraError(409, ["The issue is being edited by another request."]),
    );
    const [a] = await run();
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(a?.error?.message ?? "", /HTTP 409 The issue is being edited/);
    assert.equal(fake.creates().length, 1);
  });

  test("add_comment posts an ADF comment; an unknown issue is not found; a bad key is refused before sending", async () => {
    await run();
    const comment = (issue: string) =>
      playbookOf("jira-test", [
        { id: "s", connector: "jira", action: "add_comment", params: { issue, text: "line 1\nline 2" } },
      ]);
    const [a] = await run(comment("SEC-1"));
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(fake.issues[0]?.comments[0]?.body, {
      type: "doc",
      version: 1,
      content: [
        {
          type: "paragraph",
          content: [{ type: "text", text: "line 1" }, { type: "hardBreak" }, { type: "text", text: "line 2" }],
        },
      ],
    });
    const [missing] = await run(comment("SEC-77"));
    assert.equal(missing?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    const before = fake.requests.length;
    const [bad] = await run(comment("../../admin"));
    assert.equal(bad?.status, "failed");
    assert.equal(fake.requests.length, before);
  });

  test("dry run: the audit record names the search and the create, and nothing is sent", async () => {
    const [a] = await runDecisions({
      playbook: create(),
      decisions: [decisionFor("jira-test", TARGET)],
      connectorConfig: { jira: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      {
        method: "GET",
        path: "/rest/api/3/search/jql?jql=project+%3D+%22%7BRIPOSTE_CONNECTOR_JIRA_PROJECT%7D%22+AND+labels+%3D+%22riposte-inc-1234%22+ORDER+BY+created+ASC&fields=summary%2Cstatus&maxResults=1",
      },
      {
        method: "POST",
        path: "/rest/api/3/issue",
        body: {
          fields: {
            project: { key: "{RIPOSTE_CONNECTOR_JIRA_PROJECT}" },
            issuetype: { name: "Task" },
            summary: "Contained ws-042",
            description: adf("Host contained.\n\nRule: test"),
            labels: ["riposte", "riposte-inc-1234"],
          },
        },
      },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
