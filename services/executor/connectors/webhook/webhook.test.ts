/** The generic webhook connector against a receiver that checks Riposte's signature and de-duplicates by key. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { WEBHOOK_SECRET, startWebhookFake, type WebhookFake } from "../../../../test/fakes/webhook.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";

const post = (over: Record<string, unknown> = {}) =>
  playbookOf("hook-test", [
    {
      id: "hook",
      connector: "webhook",
      action: "post",
      params: {
        decision: "{{decision.id}}",
        title: "Blocked {{target.value}}",
        target_type: "{{target.type}}",
        target: "{{target.value}}",
        rule: "{{rule.id}}",
        reason: "{{params.reason}}",
        alert: "{{alert.uid}}",
      },
      ...over,
    },
  ]);

describe("webhook connector", () => {
  let fake: WebhookFake;
  before(async () => {
    fake = await startWebhookFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.deliveries.length = 0;
  });
  const config = (secret = WEBHOOK_SECRET) => ({ webhook: live(`${fake.url}/hooks/riposte`, { secret }) });

  test("POSTs the decision summary to the configured path, signed, with an idempotency key", async () => {
    const d = decisionFor("hook-test", { type: "ip", value: "203.0.113.9" });
    const [a] = await runDecisions({ playbook: post(), decisions: [d], connectorConfig: config() });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "notify");
    assert.equal(fake.deliveries.length, 1);
    assert.deepEqual(fake.deliveries[0]?.body, {
      decision: d.id,
      title: "Blocked 203.0.113.9",
      target_type: "ip",
      target: "203.0.113.9",
      rule: "test-rule",
      reason: "a test",
      alert: d.alert.uid,
    });
    assert.equal(fake.requests[0]?.path, "/hooks/riposte", "the configured path, no trailing slash added");
    assert.match(String(fake.requests[0]?.headers["x-riposte-signature"]), /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(a?.response?.["idempotency_key"], fake.deliveries[0]?.key);
  });

  test("a receiver with another secret answers 401: not retried, and the message names the secret variable", async () => {
    const [a] = await runDecisions({
      playbook: post(),
      decisions: [decisionFor("hook-test", { type: "ip", value: "203.0.113.9" })],
      connectorConfig: config("another-secret-0123456789abcdef"),
    });
    assert.equal(a?.status, "failed");
    assert.equal(a?.attempts, 1);
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_WEBHOOK_SECRET/);
  });

  test("5xx and timeouts are retried with the same key; the same decision sent again is a duplicate for the receiver", async () => {
    fake.faults.push({ status: 503, body: { error: "busy" } }, { status: 200, delayMs: 1_000 });
    const d = decisionFor("hook-test", { type: "ip", value: "203.0.113.9" });
    const [a] = await runDecisions({ playbook: post({ timeout: "300ms" }), decisions: [d], connectorConfig: config() });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 3);
    const keys = new Set(fake.requests.map((r) => r.headers["idempotency-key"]));
    assert.equal(keys.size, 1, "every attempt carries the same key");
    // Another executor with its own state (no shared ledger) sends the same decision: the receiver can drop it.
    await runDecisions({ playbook: post(), decisions: [d], connectorConfig: config() });
    assert.equal(fake.deliveries.length, 2);
    assert.equal(fake.unique(), 1);
  });

  test("dry run: the audit record names the request and its exact body", async () => {
    const d = decisionFor("hook-test", { type: "ip", value: "203.0.113.9" });
    const [a] = await runDecisions({
      playbook: post(),
      decisions: [d],
      connectorConfig: { webhook: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    const [planned] = a?.response?.["would_send"] as Array<{
      method: string;
      path: string;
      body: Record<string, unknown>;
    }>;
    assert.equal(planned?.method, "POST");
    assert.equal(planned?.path, "<RIPOSTE_CONNECTOR_WEBHOOK_URL>");
    assert.equal(planned?.body["decision"], d.id);
    assert.equal(fake.requests.length, 0);
  });
});
