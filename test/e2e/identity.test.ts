/**
 * Identity response end to end, embedded: Okta sign-in failures then a success for one user (rule
 * signin-brute-force-then-success-revoke-sessions) → the revoke-user-sessions playbook → one Okta session
 * revocation at the Okta fake and one Slack message at the Slack fake; the same alerts posted again change nothing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { okta } from "../../services/correlator/testing.ts";
import { OKTA_TOKEN, startOktaFake, type OktaFake } from "../fakes/okta.ts";
import { SLACK_CHANNEL, SLACK_TOKEN, startSlackFake, type SlackFake } from "../fakes/slack.ts";
import { eventually } from "../support/env.ts";
import { TOKEN, startHarness, type Harness } from "../support/harness.ts";

const USER = "alice@example.com";
const ALICE = { id: "00u1alice000000000001", status: "ACTIVE" as const, profile: { login: USER, email: USER } };
const EDL_TOKEN = "e2e-edl-token-0123456789abcdef";

describe("identity response end to end (embedded)", () => {
  let idp: OktaFake;
  let chat: SlackFake;
  let h: Harness;
  // Five failures then a success within ten minutes, as the Okta System Log sends them (raw, in one request).
  const events = [
    ...[0, 1, 2, 3, 4].map((minute) => okta({ user: USER, ok: false, minute })),
    okta({ user: USER, ok: true, minute: 5 }),
  ];
  const body = `[${events.map((e) => e.raw_data).join(",")}]`;

  before(async () => {
    idp = await startOktaFake([ALICE]);
    chat = await startSlackFake();
    h = await startHarness("embedded", "http://127.0.0.1:9", {
      RIPOSTE_CONNECTOR_OKTA_URL: idp.url,
      RIPOSTE_CONNECTOR_OKTA_API_TOKEN: OKTA_TOKEN,
      RIPOSTE_CONNECTOR_SLACK_URL: chat.api,
      RIPOSTE_CONNECTOR_SLACK_BOT_TOKEN: SLACK_TOKEN,
      RIPOSTE_CONNECTOR_SLACK_CHANNEL: SLACK_CHANNEL,
      RIPOSTE_EDL_TOKENS: `block:${EDL_TOKEN}`,
    });
  });
  after(async () => {
    await h?.stop();
    await idp?.close();
    await chat?.close();
  });

  const revokeDecisions = () => h.decisions.filter((d) => d["playbook"] === "revoke-user-sessions");
  const revokedMessages = () => chat.messages.filter((m) => /Sessions revoked for/.test(m.text ?? ""));

  test("failed sign-ins then a success → one session revocation at Okta and one Slack message", async () => {
    const res = await h.post("okta", body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body["normalized"], events.length);
    await eventually(
      () => h.actions.filter((a) => a["playbook"] === "revoke-user-sessions").length >= 3,
      "the revoke, ticket and notify audit records",
      30_000,
    );
    assert.equal(revokeDecisions().length, 1, JSON.stringify(h.decisions));
    assert.deepEqual(
      idp.revocations().map((r) => r.path),
      [`/api/v1/users/${ALICE.id}/sessions`],
    );
    assert.equal(revokedMessages().length, 1);
    // The success is also the user's first sign-in from France: signin-new-country-notify posts its own notice.
    const responding = h.decisions.filter((d) => d["outcome"] === "respond").map((d) => d["playbook"]);
    assert.deepEqual(responding.sort(), ["notify", "revoke-user-sessions"]);
    await eventually(() => chat.messages.length >= 2, "the new-country notice", 10_000);
    assert.equal(chat.messages.length, 2, "one message per responding decision");
    assert.match(JSON.stringify(revokedMessages()[0]?.blocks), /signin-brute-force-then-success-revoke-sessions/);
    const audits = h.actions.filter((a) => a["playbook"] === "revoke-user-sessions");
    assert.deepEqual(
      audits.map((a) => `${String(a["connector"])}.${String(a["action"])} ${String(a["status"])}`).sort(),
      // Jira is not configured here: the ticket is a dry run (its request audited, nothing sent).
      ["jira.create_issue dry_run", "okta.revoke_sessions succeeded", "slack.post_message succeeded"],
    );
  });

  test("the same alerts posted again: still one revocation and one message", async () => {
    const decisionsBefore = h.decisions.length;
    const res = await h.post("okta", body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    // The correlator sees the repeat as duplicates; give the pipeline time to do anything it would do.
    await eventually(() => h.normalized.length >= events.length * 2, "the repeated events normalized", 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(revokeDecisions().length, 1);
    const repeat = h.decisions.slice(decisionsBefore);
    assert.deepEqual(
      repeat.map((d) => d["outcome"]),
      events.map(() => "duplicate"),
      "every repeated alert is a duplicate; no new decision responds",
    );
    assert.equal(idp.revocations().length, 1);
    assert.equal(revokedMessages().length, 1);
    assert.equal(chat.messages.length, 2);
  });

  test("the runtime serves the EDL: the list token reads it, empty here", async () => {
    const res = await fetch(`${h.url}/v1/edl/block`, { headers: { authorization: `Bearer ${EDL_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await res.text(), "");
    const api = await fetch(`${h.url}/v1/edl/block`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(api.status, 200);
  });
});
