/** The Okta connector against the Okta fake, through the executor (guards, retries, audit records). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  OKTA_TOKEN,
  oktaErrorBody,
  oktaRateLimited,
  startOktaFake,
  type OktaFake,
} from "../../../../test/fakes/okta.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { oktaRetryAfterMs } from "./index.ts";

const ALICE = {
  id: "00u1alice000000000001",
  status: "ACTIVE" as const,
  profile: { login: "alice@example.com", email: "alice@example.com" },
};
const ADMIN = {
  id: "00u1admin000000000002",
  status: "ACTIVE" as const,
  profile: { login: "it-admin@example.com", email: "admin@example.com" },
};

const step = (action: string, over: Record<string, unknown> = {}) =>
  playbookOf("okta-test", [{ id: "s", connector: "okta", action, params: { user: "{{target.value}}" }, ...over }]);

describe("okta connector", () => {
  let fake: OktaFake;
  before(async () => {
    fake = await startOktaFake([ALICE, ADMIN]);
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.forbidden.clear();
    for (const u of fake.users) u.status = "ACTIVE";
  });

  const run = (
    action: string,
    user: string,
    opts: { token?: string; over?: Record<string, unknown>; protect?: string[] } = {},
  ) =>
    runDecisions({
      playbook: step(action, opts.over),
      decisions: [decisionFor("okta-test", { type: "user", value: user })],
      connectorConfig: { okta: live(fake.url, { api_token: opts.token ?? OKTA_TOKEN }) },
      ...(opts.protect ? { protect: { users: opts.protect } } : {}),
    });

  test("revoke_sessions looks the user up by login, then DELETEs its sessions with SSWS auth", async () => {
    const [a] = await run("revoke_sessions", "alice@example.com");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}${r.query.size ? `?${r.query.toString()}` : ""}`),
      ["GET /api/v1/users/alice%40example.com", `DELETE /api/v1/users/${ALICE.id}/sessions?oauthTokens=true`],
    );
    assert.ok(fake.requests.every((r) => r.headers.authorization === `SSWS ${OKTA_TOKEN}`));
    assert.equal(a?.response?.["user_id"], ALICE.id);
    assert.equal(a?.classification, "containment");
  });

  test("401 E0000011 is not retried and says which variable to check", async () => {
    const [a] = await run("revoke_sessions", "alice@example.com", { token: "wrong-token-0123456789" });
    assert.equal(a?.status, "failed");
    assert.equal(a?.attempts, 1);
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /E0000011 Invalid token provided/);
    assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_OKTA_API_TOKEN/);
    assert.equal(fake.revocations().length, 0);
  });

  test("403 E0000006 on the revocation is an auth error, not retried", async () => {
    fake.forbidden.add(ALICE.id);
    const [a] = await run("revoke_sessions", "alice@example.com");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /E0000006/);
    assert.equal(fake.revocations().length, 1, "sent once");
  });

  test("404 E0000007 (unknown user) is not retried", async () => {
    const [a] = await run("revoke_sessions", "nobody@example.com");
    assert.equal(a?.status, "failed");
    assert.equal(a?.attempts, 1);
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.match(a?.error?.message ?? "", /E0000007/);
  });

  test("429 waits until X-Rate-Limit-Reset, then retries", async () => {
    fake.faults.push(oktaRateLimited(1));
    const started = Date.now();
    const [a] = await run("revoke_sessions", "alice@example.com");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.ok(Date.now() - started >= 900, "waited for the reset");
    assert.equal(fake.revocations().length, 1);
  });

  test("X-Rate-Limit-Reset is epoch seconds; Retry-After wins when sent", () => {
    const now = 1_700_000_000_000;
    assert.equal(oktaRetryAfterMs(new Headers({ "x-rate-limit-reset": "1700000030" }), now), 30_000);
    assert.equal(oktaRetryAfterMs(new Headers({ "x-rate-limit-reset": "1700000030", "retry-after": "2" }), now), 2_000);
    assert.equal(oktaRetryAfterMs(new Headers({}), now), undefined);
  });

  test("5xx and a timeout are retried (the revocation is idempotent)", async () => {
    fake.faults.push(
      { status: 200, body: ALICE },
      { status: 500, body: oktaErrorBody("E0000009", "Internal Server Error") },
      { status: 204, delayMs: 1_500 },
    );
    const [a] = await run("revoke_sessions", "alice@example.com", { over: { timeout: "300ms" } });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 4, "lookup + 500 + timeout + success");
    assert.equal(fake.revocations().length, 3);
  });

  test("a malformed lookup answer is retried, not taken for a user", async () => {
    fake.faults.push({ status: 200, body: "<html>maintenance</html>", headers: { "content-type": "text/html" } });
    const [a] = await run("revoke_sessions", "alice@example.com");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 3);
  });

  test("the guards check what Okta returned: a protected login behind an id is refused", async () => {
    const [a] = await run("revoke_sessions", ADMIN.id, { protect: ["it-admin@example.com"] });
    assert.equal(a?.status, "refused_protected", JSON.stringify(a));
    assert.equal(fake.revocations().length, 0);
  });

  test("suspend_user suspends; suspending again (400 E0000001) is done once get_user shows SUSPENDED", async () => {
    const [first] = await run("suspend_user", "alice@example.com");
    assert.equal(first?.status, "succeeded", JSON.stringify(first));
    assert.equal(fake.users[0]?.status, "SUSPENDED");
    const [again] = await run("suspend_user", "alice@example.com");
    assert.equal(again?.status, "succeeded", JSON.stringify(again));
    assert.equal(again?.response?.["already"], true);
    const [back] = await run("unsuspend_user", "alice@example.com");
    assert.equal(back?.status, "succeeded");
    assert.equal(fake.users[0]?.status, "ACTIVE");
  });

  test("get_user is enrichment and returns status, login and email", async () => {
    const [a] = await run("get_user", ALICE.id);
    assert.equal(a?.classification, "enrich");
    assert.deepEqual(a?.response, {
      id: ALICE.id,
      status: "ACTIVE",
      login: ALICE.profile.login,
      email: ALICE.profile.email,
    });
  });

  test("a hostile user name cannot leave /api/v1/users/: '..' is refused, '{id}' and '/' are encoded", async () => {
    const [dots] = await run("revoke_sessions", "..");
    assert.equal(dots?.status, "failed");
    assert.equal(fake.requests.length, 0, "nothing sent for '..'");
    await run("get_user", "{id}/../groups");
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      ["GET /api/v1/users/%7Bid%7D%2F..%2Fgroups"],
    );
  });

  test("dry run: the audit record names the exact requests, and nothing is sent", async () => {
    const [a] = await runDecisions({
      playbook: step("revoke_sessions"),
      decisions: [decisionFor("okta-test", { type: "user", value: "alice@example.com" })],
      connectorConfig: { okta: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      { method: "GET", path: "/api/v1/users/alice%40example.com" },
      { method: "DELETE", path: "/api/v1/users/{id}/sessions?oauthTokens=true" },
    ]);
    assert.match(String(a?.response?.["reason"]), /RIPOSTE_CONNECTOR_OKTA_URL/);
    assert.equal(fake.requests.length, 0);
  });
});
