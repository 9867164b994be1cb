/** The Teams connector against the Workflows fake, through the executor (retries, audit records). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { malformed } from "../../../../test/fakes/route-faults.ts";
import { TEAMS_SIG, startTeamsFake, type TeamsFake } from "../../../../test/fakes/teams.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { loadConfig } from "../../../shared/config.ts";
import { CONNECTORS } from "../index.ts";

const PARAMS = {
  title: "Host {{target.value}} isolated",
  decision: "respond",
  target: "{{target.value}}",
  rule: "{{rule.id}}",
  alert: "{{alert.uid}}",
  link: "https://soc.example.com/cases/42",
};

describe("teams connector", () => {
  let fake: TeamsFake;
  before(async () => {
    fake = await startTeamsFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.routeFaults.clear();
    fake.cards.length = 0;
    fake.invalid.length = 0;
  });

  const run = (
    target: string,
    opts: { url?: string; over?: Record<string, unknown> } = {},
    decision = decisionFor("teams-test", { type: "host", value: target }),
  ) =>
    runDecisions({
      playbook: playbookOf("teams-test", [
        { id: "s", connector: "teams", action: "post_message", params: PARAMS, ...opts.over },
      ]),
      decisions: [decision],
      connectorConfig: { teams: live(opts.url ?? fake.webhook, {}) },
    });

  test("posts one Adaptive Card in the Workflows envelope to the configured URL, query and sig included (202)", async () => {
    const decision = decisionFor("teams-test", { type: "host", value: "ws-042" });
    const [a] = await run("ws-042", {}, decision);
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "notify");
    assert.equal(fake.posts().length, 1);
    const req = fake.posts()[0];
    assert.equal(req?.query.get("sig"), TEAMS_SIG);
    assert.equal(req?.query.get("api-version"), "2016-06-01");
    assert.equal(req?.headers["content-type"], "application/json");
    const payload = JSON.parse(req?.body ?? "");
    assert.equal(payload.type, "message");
    assert.equal(payload.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(fake.invalid.length, 0);
    const card = fake.cards[0] as {
      version: string;
      body: Array<{ inlines: Array<{ text: string }> }>;
      actions: unknown;
    };
    assert.equal(card.version, "1.4");
    assert.deepEqual(
      card.body.map((b) => b.inlines.map((i) => i.text).join("")),
      [
        "Host ws-042 isolated",
        "Decision: respond",
        "Target: ws-042",
        "Rule: test-rule",
        `Alert: ${decision.alert.uid}`,
        `Trail: GET /v1/alerts/${encodeURIComponent(decision.alert.uid)}/trail`,
      ],
    );
    assert.deepEqual(card.actions, [
      { type: "Action.OpenUrl", title: "Open", url: "https://soc.example.com/cases/42" },
    ]);
  });

  test("a crafted name is plain text (a TextRun), never Markdown", async () => {
    await run("[click me](https://evil.example) **urgent**");
    const card = fake.cards[0] as { body: Array<{ type: string; inlines: Array<{ type: string; text: string }> }> };
    assert.ok(card.body.every((b) => b.type === "RichTextBlock" && b.inlines.every((i) => i.type === "TextRun")));
    assert.equal(card.body[2]?.inlines[1]?.text, "[click me](https://evil.example) **urgent**");
  });

  test("429 with Retry-After is waited out and retried (the card was not taken): one card", async () => {
    fake.routeFaults.add({
      path: /invoke$/,
      reply: { status: 429, headers: { "retry-after": "1" }, body: { error: { code: "WorkflowTriggerIsThrottled" } } },
    });
    const [a] = await run("ws-042");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 2);
    assert.equal(fake.cards.length, 1);
  });

  test("5xx and a timeout are not resent (the card may have been posted): one post each", async () => {
    fake.routeFaults.add({ path: /invoke$/, reply: { status: 502, body: { error: { code: "BadGateway" } } } });
    const [a] = await run("ws-042");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_UNAVAILABLE");
    assert.equal(fake.posts().length, 1);
    fake.requests.length = 0;
    fake.routeFaults.add({ path: /invoke$/, actedThenDelayMs: 1_500 });
    const [b] = await run("ws-042", { over: { timeout: "300ms" } });
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_TIMEOUT");
    assert.equal(fake.posts().length, 1);
  });

  test("a wrong sig is an auth error that says to copy the URL again, and never shows the URL", async () => {
    const [a] = await run("ws-042", { url: fake.webhook.replace(TEAMS_SIG, "wrong-sig-00000000") });
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /DirectApiAuthorizationRequired.*RIPOSTE_CONNECTOR_TEAMS_URL/);
    assert.doesNotMatch(JSON.stringify(a), /sig=|wrong-sig|0a1b2c3d4e5f/);
  });

  test("404 (flow deleted) is not found; 403 is auth; a 200 with a failure text is not taken for a delivery", async () => {
    const [a] = await run("ws-042", { url: fake.webhook.replace("0a1b2c3d4e5f", "deleted0000") });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    fake.routeFaults.add({ path: /invoke$/, reply: { status: 403, body: { error: { code: "AuthorizationFailed" } } } });
    const [b] = await run("ws-042");
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    fake.routeFaults.add({
      path: /invoke$/,
      reply: {
        status: 200,
        headers: { "content-type": "text/plain" },
        body: "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400",
      },
    });
    const [c] = await run("ws-042");
    assert.equal(c?.status, "failed");
    assert.equal(c?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(c?.error?.message ?? "", /not delivered/);
    fake.routeFaults.add({ path: /invoke$/, reply: malformed });
    const [d] = await run("ws-042");
    assert.equal(d?.status, "failed", "a 200 HTML page is not a delivery");
  });

  test("configuration accepts the Workflows URL with its query (no fragment), never echoing it", () => {
    const c = loadConfig({ RIPOSTE_CONNECTOR_TEAMS_URL: fake.webhook }, CONNECTORS);
    assert.equal(c.connectors["teams"]?.dryRun, false);
    assert.throws(
      () => loadConfig({ RIPOSTE_CONNECTOR_TEAMS_URL: `${fake.webhook}#frag` }, CONNECTORS),
      (e: Error) => /RIPOSTE_CONNECTOR_TEAMS_URL: must be a base URL/.test(e.message) && !e.message.includes(TEAMS_SIG),
    );
  });

  test("dry run: the exact card, to the configured URL's placeholder; nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: playbookOf("teams-test", [
        {
          id: "s",
          connector: "teams",
          action: "post_message",
          params: { title: "t", decision: "respond", target: "ws-1" },
        },
      ]),
      decisions: [decisionFor("teams-test", { type: "host", value: "ws-1" })],
      connectorConfig: { teams: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      {
        method: "POST",
        path: "<RIPOSTE_CONNECTOR_TEAMS_URL>",
        body: {
          type: "message",
          attachments: [
            {
              contentType: "application/vnd.microsoft.card.adaptive",
              contentUrl: null,
              content: {
                $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                type: "AdaptiveCard",
                version: "1.4",
                body: [
                  {
                    type: "RichTextBlock",
                    inlines: [{ type: "TextRun", text: "t", weight: "Bolder", size: "Medium" }],
                  },
                  {
                    type: "RichTextBlock",
                    inlines: [
                      { type: "TextRun", text: "Decision: ", weight: "Bolder" },
                      { type: "TextRun", text: "respond" },
                    ],
                  },
                  {
                    type: "RichTextBlock",
                    inlines: [
                      { type: "TextRun", text: "Target: ", weight: "Bolder" },
                      { type: "TextRun", text: "ws-1" },
                    ],
                  },
                ],
              },
            },
          ],
        },
      },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
