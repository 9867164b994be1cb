/** The Graph connector's user actions against the Graph fake, through the executor (guards, retries, audit). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET, ENTRA_TENANT } from "../../../../test/fakes/entra.ts";
import { graphError, startGraphFake, type GraphFake } from "../../../../test/fakes/graph.ts";
import { malformed } from "../../../../test/fakes/route-faults.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";

const ALICE = {
  id: "6e7b768e-07e2-4810-8459-485f84f8f204",
  userPrincipalName: "alice@contoso.com",
  mail: "alice@contoso.com",
  displayName: "Alice",
  accountEnabled: true,
};
const ADMIN = {
  id: "7f8c879f-18f3-4921-9560-596f95f9f315",
  userPrincipalName: "admin@contoso.onmicrosoft.com",
  mail: "it-admin@contoso.com",
  displayName: "Global admin",
  accountEnabled: true,
};

const step = (action: string, over: Record<string, unknown> = {}) =>
  playbookOf("graph-test", [{ id: "s", connector: "graph", action, params: { user: "{{target.value}}" }, ...over }]);
const show = (r: { method: string; path: string; query: URLSearchParams }) =>
  `${r.method} ${r.path}${r.query.size ? `?${decodeURIComponent(r.query.toString())}` : ""}`;

describe("graph connector: users", () => {
  let fake: GraphFake;
  before(async () => {
    fake = await startGraphFake([ALICE, ADMIN]);
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.routeFaults.clear();
    fake.entra.tokenRequests.length = 0;
    fake.entra.refuseAll = false;
    for (const u of fake.users) u.accountEnabled = true;
  });

  const config = (over: Record<string, string> = {}) => ({
    graph: live(fake.url, {
      tenant_id: ENTRA_TENANT,
      client_id: ENTRA_CLIENT_ID,
      client_secret: ENTRA_CLIENT_SECRET,
      auth_url: fake.url,
      ...over,
    }),
  });
  const run = (action: string, user: string, opts: { over?: Record<string, unknown>; protect?: string[] } = {}) =>
    runDecisions({
      playbook: step(action, opts.over),
      decisions: [decisionFor("graph-test", { type: "user", value: user })],
      connectorConfig: config(),
      ...(opts.protect ? { protect: { users: opts.protect } } : {}),
    });

  test("revoke_sessions: Graph-scoped token, user by UPN, then revokeSignInSessions on the object id", async () => {
    const [a] = await run("revoke_sessions", "alice@contoso.com");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.entra.tokenRequests[0]?.get("scope"), "https://graph.microsoft.com/.default");
    assert.deepEqual(fake.requests.map(show), [
      `POST /${ENTRA_TENANT}/oauth2/v2.0/token`,
      "GET /v1.0/users/alice%40contoso.com?$select=id,userPrincipalName,mail,displayName,accountEnabled",
      `POST /v1.0/users/${ALICE.id}/revokeSignInSessions`,
    ]);
    assert.equal(fake.revocations()[0]?.body, "", "no body");
    assert.deepEqual(a?.response, { user_id: ALICE.id, sessions: "revoked" });
  });

  test("disable_user PATCHes accountEnabled false (204); again is still done; enable_user is the lift", async () => {
    const [off] = await run("disable_user", "alice@contoso.com");
    assert.equal(off?.status, "succeeded", JSON.stringify(off));
    const patch = fake.requests.find((r) => r.method === "PATCH");
    assert.equal(patch?.path, `/v1.0/users/${ALICE.id}`);
    assert.deepEqual(JSON.parse(patch?.body ?? ""), { accountEnabled: false });
    assert.equal(fake.users[0]?.accountEnabled, false);
    const [again] = await run("disable_user", "alice@contoso.com");
    assert.equal(again?.status, "succeeded");
    const [on] = await run("enable_user", "alice@contoso.com", { protect: ["alice@contoso.com"] });
    assert.equal(on?.status, "succeeded", "a lift is never refused as protected");
    assert.equal(fake.users[0]?.accountEnabled, true);
  });

  test("the guards check what Graph returned: a protected mail address behind an object id is refused", async () => {
    const [a] = await run("disable_user", ADMIN.id, { protect: ["it-admin@contoso.com"] });
    assert.equal(a?.status, "refused_protected", JSON.stringify(a));
    assert.equal(fake.requests.filter((r) => r.method === "PATCH").length, 0);
  });

  test("an expired token is refreshed once; refused again, the action fails as auth and says what to check", async () => {
    fake.faults.push({ status: 200, body: { token_type: "Bearer", expires_in: 3599, access_token: "eyJ.stale" } });
    const [a] = await run("revoke_sessions", "alice@contoso.com");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.entra.tokenRequests.length, 1, "the stale one came from a fault, then one real token");
    assert.equal(fake.revocations().length, 1);
    fake.requests.length = 0;
    fake.entra.refuseAll = true;
    const [b] = await run("revoke_sessions", "alice@contoso.com");
    assert.equal(b?.status, "failed");
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(b?.error?.message ?? "", /InvalidAuthenticationToken/);
    assert.match(b?.error?.message ?? "", /RIPOSTE_CONNECTOR_GRAPH_TENANT_ID/);
    assert.equal(fake.requests.filter((r) => r.path.endsWith("/token")).length, 2, "one refresh");
    assert.equal(fake.revocations().length, 0);
  });

  test("403 names the permission; 404 is not found; neither is retried", async () => {
    fake.routeFaults.add({
      path: /revokeSignInSessions$/,
      reply: graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    });
    const [a] = await run("revoke_sessions", "alice@contoso.com");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Authorization_RequestDenied.*User\.ReadWrite\.All/);
    assert.equal(fake.revocations().length, 1);
    const [b] = await run("revoke_sessions", "nobody@contoso.com");
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.equal(b?.attempts, 1);
  });

  test("409 is a rejection (not retried); 429 waits for Retry-After; 503 and a timeout are retried", async () => {
    fake.routeFaults.add({ path: /\/users\/[^/]+$/, reply: graphError(409, "Request_Conflict", "Conflict") });
    const [c] = await run("disable_user", "alice@contoso.com");
    assert.equal(c?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.equal(c?.attempts, 1);
    fake.routeFaults.add({
      path: /revokeSignInSessions$/,
      reply: { ...graphError(429, "TooManyRequests", "Too many requests"), headers: { "retry-after": "1" } },
    });
    fake.routeFaults.add({ path: /revokeSignInSessions$/, reply: graphError(503, "ServiceUnavailable", "busy") });
    fake.routeFaults.add({ path: /revokeSignInSessions$/, actedThenDelayMs: 1_500 });
    const [a] = await run("revoke_sessions", "alice@contoso.com", {
      over: { timeout: "300ms", retry: { max: 4, backoff: "10ms" } },
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 5, "lookup, 429, 503, timeout, success");
    assert.equal(fake.revocations().length, 4);
  });

  test("a malformed user answer is retried, not taken for a user", async () => {
    fake.routeFaults.add({ path: /\/users\/[^/]+$/, reply: malformed });
    const [a] = await run("get_user", "alice@contoso.com");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.deepEqual(a?.response, {
      id: ALICE.id,
      user_principal_name: ALICE.userPrincipalName,
      mail: ALICE.mail,
      display_name: "Alice",
      account_enabled: true,
    });
  });

  test("a hostile user name cannot leave /v1.0/users/: '..' is refused, '/' is encoded", async () => {
    const [dots] = await run("revoke_sessions", "..");
    assert.equal(dots?.status, "failed");
    assert.equal(fake.requests.length, 0);
    await run("get_user", "x/../../beta/admin");
    assert.ok(fake.requests.some((r) => r.path === "/v1.0/users/x%2F..%2F..%2Fbeta%2Fadmin"));
  });

  test("dry run: the exact requests, nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: step("disable_user"),
      decisions: [decisionFor("graph-test", { type: "user", value: "alice@contoso.com" })],
      connectorConfig: { graph: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      {
        method: "GET",
        path: "/v1.0/users/alice%40contoso.com?$select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled",
      },
      { method: "PATCH", path: "/v1.0/users/{id}", body: { accountEnabled: false } },
    ]);
    assert.match(String(a?.response?.["reason"]), /RIPOSTE_CONNECTOR_GRAPH_URL/);
    assert.equal(fake.requests.length, 0);
  });
});
