/** The Slack connector against the Slack fake, through the executor (retries, audit records). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  SLACK_CHANNEL,
  SLACK_TOKEN,
  slackError,
  slackRateLimited,
  startSlackFake,
  type SlackFake,
} from "../../../../test/fakes/slack.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";

const PARAMS = {
  title: "Sessions revoked for {{target.value}}",
  decision: "{{decision.id}}",
  target: "{{target.type}} {{target.value}}",
  rule: "{{rule.id}}",
  reason: "{{params.reason}}",
  alert: "{{alert.uid}}",
};
const notify = (over: Record<string, unknown> = {}) =>
  playbookOf("slack-test", [{ id: "notify", connector: "slack", action: "post_message", params: PARAMS, ...over }]);

describe("slack connector", () => {
  let fake: SlackFake;
  before(async () => {
    fake = await startSlackFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.messages.length = 0;
  });

  const run = (opts: { token?: string; channel?: string; user?: string; over?: Record<string, unknown> } = {}) =>
    runDecisions({
      playbook: notify(opts.over),
      decisions: [decisionFor("slack-test", { type: "user", value: opts.user ?? "alice@example.com" })],
      connectorConfig: {
        slack: live(fake.api, { bot_token: opts.token ?? SLACK_TOKEN, channel: opts.channel ?? SLACK_CHANNEL }),
      },
    });

  test("posts {channel, text, blocks} with a bearer token; blocks carry the decision, target, rule and links", async () => {
    const [a] = await run();
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "notify");
    const [req] = fake.posts();
    assert.equal(req?.headers.authorization, `Bearer ${SLACK_TOKEN}`);
    assert.match(String(req?.headers["content-type"]), /application\/json/);
    const msg = fake.messages[0];
    assert.equal(msg?.channel, SLACK_CHANNEL);
    assert.match(msg?.text ?? "", /Sessions revoked for alice@example.com/);
    const blocks = JSON.stringify(msg?.blocks);
    for (const want of [String(a?.["decision_id"]), "user alice@example.com", "test-rule", "a test", "/trail"])
      assert.ok(blocks.includes(want), `blocks mention ${want}: ${blocks}`);
    assert.equal(a?.response?.["channel"], SLACK_CHANNEL);
    assert.match(String(a?.response?.["ts"]), /^\d+\.\d+$/);
  });

  test("alert values are plain_text: a crafted user name cannot mention @channel", async () => {
    const [a] = await run({ user: "<!channel> <https://evil.example|click>" });
    assert.equal(a?.status, "succeeded");
    const blocks = (fake.messages[0]?.blocks ?? []) as Array<Record<string, unknown>>;
    const mrkdwn = JSON.stringify(blocks.filter((b) => b["type"] === "context"));
    assert.ok(!mrkdwn.includes("<!channel>"), mrkdwn);
  });

  for (const code of ["invalid_auth", "not_authed", "token_revoked"]) {
    test(`ok:false ${code} is an auth error, not retried, naming the token variable`, async () => {
      fake.faults.push(slackError(code));
      const [a] = await run();
      assert.equal(a?.status, "failed");
      assert.equal(a?.attempts, 1);
      assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
      assert.match(a?.error?.message ?? "", new RegExp(code));
      assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_SLACK_BOT_TOKEN/);
    });
  }

  test("a wrong token gets invalid_auth from Slack itself", async () => {
    const [a] = await run({ token: "xoxb-wrong" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.equal(fake.messages.length, 0);
  });

  test("channel_not_found is rejected, not retried, naming the channel variable", async () => {
    const [a] = await run({ channel: "C0NOWHERE" });
    assert.equal(a?.status, "failed");
    assert.equal(a?.attempts, 1);
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_SLACK_CHANNEL/);
  });

  test("429 + Retry-After and ok:false ratelimited are waited out and retried: nothing was posted", async () => {
    fake.faults.push(slackRateLimited(1), slackError("ratelimited"));
    const started = Date.now();
    const [a] = await run();
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 3);
    assert.ok(Date.now() - started >= 900, "Retry-After was honoured");
    assert.equal(fake.messages.length, 1);
  });

  test("5xx, a timeout and a malformed answer are not retried: Slack may have posted", async () => {
    for (const [fault, code] of [
      [{ status: 503, body: { ok: false, error: "service_unavailable" } }, "RIPOSTE_CONNECTOR_UNAVAILABLE"],
      [
        { status: 502, body: "<html>bad gateway</html>", headers: { "content-type": "text/html" } },
        "RIPOSTE_CONNECTOR_UNAVAILABLE",
      ],
      [{ status: 200, delayMs: 1_000, body: { ok: true } }, "RIPOSTE_CONNECTOR_TIMEOUT"],
      [
        { status: 200, body: "<html>ok?</html>", headers: { "content-type": "text/html" } },
        "RIPOSTE_CONNECTOR_UNAVAILABLE",
      ],
    ] as const) {
      fake.requests.length = 0;
      fake.faults.push(fault);
      const [a] = await run({ over: { timeout: "300ms" } });
      assert.equal(a?.status, "failed", JSON.stringify(fault));
      assert.equal(fake.posts().length, 1, `sent once: ${JSON.stringify(fault)}`);
      assert.equal(a?.error?.code, code, JSON.stringify(a?.error));
    }
  });

  test("dry run: the audit record names the exact request and body, and nothing is sent", async () => {
    const [a] = await runDecisions({
      playbook: notify(),
      decisions: [decisionFor("slack-test", { type: "user", value: "alice@example.com" })],
      connectorConfig: { slack: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    const [planned] = a?.response?.["would_send"] as Array<{
      method: string;
      path: string;
      body: Record<string, unknown>;
    }>;
    assert.equal(planned?.method, "POST");
    assert.equal(planned?.path, "/chat.postMessage");
    assert.equal(planned?.body["channel"], "<RIPOSTE_CONNECTOR_SLACK_CHANNEL>");
    assert.ok(Array.isArray(planned?.body["blocks"]));
    assert.match(String(planned?.body["text"]), /Sessions revoked for alice@example.com/);
    assert.equal(fake.requests.length, 0);
  });
});
