/** The Mimecast connector against the Mimecast API 2.0 fake, through the executor (guards, retries, audit). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MIMECAST_CLIENT_ID,
  MIMECAST_CLIENT_SECRET,
  mimecastFail,
  startMimecastFake,
  type MimecastFake,
} from "../../../../test/fakes/mimecast.ts";
import { malformed } from "../../../../test/fakes/route-faults.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { mimecastRetryAfterMs } from "./index.ts";

const CREATE = "/api/policy/blockedsenders/create-policy";
const GET = "/api/policy/blockedsenders/get-policy";
const DELETE = "/api/policy/blockedsenders/delete-policy";

describe("mimecast connector", () => {
  let fake: MimecastFake;
  before(async () => {
    fake = await startMimecastFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.routeFaults.clear();
    fake.policies.length = 0;
    fake.managedUrls.length = 0;
    fake.tokenRequests.length = 0;
    fake.pageSize = 100;
  });

  const run = (
    action: string,
    params: Record<string, string>,
    opts: { secret?: string; over?: Record<string, unknown>; protect?: string[] } = {},
  ) =>
    runDecisions({
      playbook: playbookOf("mimecast-test", [{ id: "s", connector: "mimecast", action, params, ...opts.over }]),
      decisions: [decisionFor("mimecast-test", { type: "email", value: "phish@bad.example" })],
      connectorConfig: {
        mimecast: live(fake.url, {
          client_id: MIMECAST_CLIENT_ID,
          client_secret: opts.secret ?? MIMECAST_CLIENT_SECRET,
        }),
      },
      ...(opts.protect ? { protect: { users: opts.protect } } : {}),
    });

  test("block_sender: token, the policies read, then one Blocked Senders policy for everyone", async () => {
    const [a] = await run("block_sender", { sender: "Phish@Bad.example", reason: "campaign 42" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "containment");
    assert.deepEqual(Object.fromEntries(fake.tokenRequests[0] ?? []), {
      client_id: MIMECAST_CLIENT_ID,
      client_secret: MIMECAST_CLIENT_SECRET,
      grant_type: "client_credentials",
    });
    assert.deepEqual(
      fake.requests.map((r) => r.path),
      ["/oauth/token", GET, CREATE],
    );
    assert.ok(fake.requests.slice(1).every((r) => /^Bearer mc-token-\d+$/.test(r.headers.authorization ?? "")));
    assert.deepEqual(JSON.parse(fake.calls(CREATE)[0]?.body ?? ""), {
      data: [
        {
          option: "block_sender",
          policy: {
            description: "Riposte: block phish@bad.example (campaign 42)",
            fromPart: "both",
            fromType: "individual_email_address",
            fromValue: "phish@bad.example",
            toType: "everyone",
          },
        },
      ],
    });
    assert.equal(a?.response?.["policy_id"], fake.policies[0]?.id);
  });

  test("blocking again finds the policy (across pages) and adds none; a domain is an email_domain policy", async () => {
    fake.pageSize = 1;
    await run("block_sender", { sender: "bad.example" });
    await run("block_sender", { sender: "other@bad.example" });
    fake.requests.length = 0;
    const [a] = await run("block_sender", { sender: "other@bad.example" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.response?.["already"], true);
    assert.equal(fake.calls(GET).length, 2, "two pages read");
    assert.equal(fake.calls(CREATE).length, 0);
    assert.equal(fake.policies.length, 2);
    assert.deepEqual(fake.policies[0]?.policy.from, { type: "email_domain", emailDomain: "bad.example" });
  });

  test("unblock_sender deletes every policy for the sender; again, there is nothing to delete", async () => {
    await run("block_sender", { sender: "phish@bad.example" });
    fake.policies.push({ ...(fake.policies[0] as (typeof fake.policies)[0]), id: "dup-policy" });
    const [a] = await run("unblock_sender", { sender: "phish@bad.example" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.calls(DELETE).length, 2);
    assert.deepEqual(JSON.parse(fake.calls(DELETE)[1]?.body ?? ""), { data: [{ id: "dup-policy" }] });
    assert.equal(fake.policies.length, 0);
    const [b] = await run("unblock_sender", { sender: "phish@bad.example" });
    assert.equal(b?.response?.["already"], true);
    assert.equal(fake.calls(DELETE).length, 2);
  });

  test("block_url adds one managed URL with action block; the same URL again is found, not added", async () => {
    const [a] = await run("block_url", { url: "https://bad.example/login?x=1", reason: "phish landing" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(JSON.parse(fake.calls("/api/ttp/url/create-managed-url")[0]?.body ?? ""), {
      data: [
        {
          url: "https://bad.example/login?x=1",
          action: "block",
          matchType: "explicit",
          comment: "Riposte: block https://bad.example/login?x=1 (phish landing)",
          disableLogClick: false,
        },
      ],
    });
    const [b] = await run("block_url", { url: "https://bad.example/login?x=1" });
    assert.equal(b?.response?.["already"], true);
    const [c] = await run("block_url", { url: "https://bad.example/other", match: "domain" });
    assert.equal(c?.response?.["already"], undefined, "a domain block is another entry");
    assert.equal(fake.managedUrls.length, 2);
  });

  test("unblock_url removes the explicit block and leaves the domain block; again, nothing to remove", async () => {
    await run("block_url", { url: "https://bad.example/login" });
    await run("block_url", { url: "https://bad.example/", match: "domain" });
    const explicitId = fake.managedUrls[0]?.["id"];
    const [a] = await run("unblock_url", { url: "https://bad.example/login" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(JSON.parse(fake.calls("/api/ttp/url/delete-managed-url")[0]?.body ?? ""), {
      data: [{ id: explicitId }],
    });
    assert.deepEqual(
      fake.managedUrls.map((u) => u["matchType"]),
      ["domain"],
    );
    const [b] = await run("unblock_url", { url: "https://bad.example/login" });
    assert.equal(b?.response?.["already"], true);
    assert.equal(fake.calls("/api/ttp/url/delete-managed-url").length, 1);
  });

  test("guards: a protected address is never blocked", async () => {
    const [a] = await run("block_sender", { sender: "ceo@contoso.com" }, { protect: ["ceo@contoso.com"] });
    assert.equal(a?.status, "refused_protected", JSON.stringify(a));
    assert.equal(fake.calls(CREATE).length, 0);
  });

  test("an expired token is refreshed once; a wrong secret fails as auth naming the variables, not retried", async () => {
    await run("block_url", { url: "https://a.example/" });
    fake.expireAll();
    fake.requests.length = 0;
    fake.faults.push({ status: 200, body: { access_token: "mc-stale", token_type: "Bearer", expires_in: 1800 } });
    const [a] = await run("block_url", { url: "https://b.example/" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(
      fake.requests.map((r) => r.path),
      [
        "/oauth/token",
        "/api/ttp/url/get-all-managed-urls",
        "/oauth/token",
        "/api/ttp/url/get-all-managed-urls",
        "/api/ttp/url/create-managed-url",
      ],
    );
    fake.tokenRequests.length = 0;
    const [b] = await run("block_sender", { sender: "x@bad.example" }, { secret: "wrong-0123456789" });
    assert.equal(b?.status, "failed");
    assert.equal(b?.attempts, 2, "the (local) resolve, then one run: not retried");
    assert.equal(fake.tokenRequests.length, 1);
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(b?.error?.message ?? "", /RIPOSTE_CONNECTOR_MIMECAST_CLIENT_ID and _CLIENT_SECRET/);
    assert.doesNotMatch(b?.error?.message ?? "", /wrong-0123456789/);
  });

  test("a token refused twice fails after one refresh", async () => {
    fake.routeFaults.add({
      path: /get-policy$/,
      reply: mimecastFail(401, "token_verification_failed", "Token verification failed"),
    });
    fake.routeFaults.add({
      path: /get-policy$/,
      reply: mimecastFail(401, "token_verification_failed", "Token verification failed"),
    });
    const [a] = await run("block_sender", { sender: "x@bad.example" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /token_verification_failed/);
    assert.equal(fake.tokenRequests.length, 2);
    assert.equal(fake.calls(CREATE).length, 0);
  });

  test("403 names the role's permissions; a 200 with fail is a rejection naming Mimecast's code", async () => {
    fake.routeFaults.add({
      path: /create-policy$/,
      reply: mimecastFail(403, "err_xdk_client_access_denied", "Access denied"),
    });
    const [a] = await run("block_sender", { sender: "x@bad.example" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Blocked Senders/);
    assert.equal(fake.calls(CREATE).length, 1);
    fake.routeFaults.add({
      path: /create-policy$/,
      reply: mimecastFail(200, "err_validation_invalid_value", "Invalid fromValue"),
    });
    const [b] = await run("block_sender", { sender: "y@bad.example" });
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(b?.error?.message ?? "", /err_validation_invalid_value Invalid fromValue/);
  });

  test("429 with Retry-After, a 5xx, a timeout and a malformed page are retried; one policy in the end", async () => {
    fake.routeFaults.add({
      path: /create-policy$/,
      reply: { ...mimecastFail(429, "err_rate_limit", "Too many requests"), headers: { "retry-after": "1" } },
    });
    fake.routeFaults.add({
      path: /create-policy$/,
      reply: mimecastFail(503, "err_service_unavailable", "try later", true),
    });
    fake.routeFaults.add({ path: /get-policy$/, reply: malformed });
    fake.routeFaults.add({ path: /create-policy$/, actedThenDelayMs: 1_500 });
    const [a] = await run(
      "block_sender",
      { sender: "x@bad.example" },
      { over: { timeout: "300ms", retry: { max: 6, backoff: "10ms" } } },
    );
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.response?.["already"], true, "the timed-out create had landed; the retry found it");
    assert.equal(fake.policies.length, 1);
  });

  test("404 (a wrong base URL or API path) is not found and not retried", async () => {
    fake.routeFaults.add({
      path: /get-policy$/,
      reply: mimecastFail(404, "err_resource_not_found", "Resource not found"),
    });
    const [a] = await run("block_sender", { sender: "x@bad.example" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.match(a?.error?.message ?? "", /err_resource_not_found/);
    assert.equal(fake.calls(GET).length, 1);
    assert.equal(fake.calls(CREATE).length, 0);
  });

  test("X-RateLimit-Reset is milliseconds; Retry-After wins when sent", () => {
    assert.equal(mimecastRetryAfterMs(new Headers({ "x-ratelimit-reset": "2500" })), 2_500);
    assert.equal(mimecastRetryAfterMs(new Headers({ "x-ratelimit-reset": "2500", "retry-after": "3" })), 3_000);
    assert.equal(mimecastRetryAfterMs(new Headers({})), undefined);
  });

  test("bad input never reaches Mimecast: not a sender, not an http(s) URL", async () => {
    const [a] = await run("block_sender", { sender: "not a sender" });
    const [b] = await run("block_url", { url: "javascript:alert(1)" });
    assert.equal(a?.status, "failed");
    assert.equal(b?.status, "failed");
    assert.equal(fake.requests.length, 0);
  });

  test("dry run: the exact requests (Mimecast's API is all POSTs), nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: playbookOf("mimecast-test", [
        { id: "s", connector: "mimecast", action: "block_sender", params: { sender: "phish@bad.example" } },
      ]),
      decisions: [decisionFor("mimecast-test", { type: "email", value: "phish@bad.example" })],
      connectorConfig: { mimecast: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      { method: "POST", path: GET, body: { meta: { pagination: { pageSize: 100 } }, data: [] } },
      {
        method: "POST",
        path: CREATE,
        body: {
          data: [
            {
              option: "block_sender",
              policy: {
                description: "Riposte: block phish@bad.example",
                fromPart: "both",
                fromType: "individual_email_address",
                fromValue: "phish@bad.example",
                toType: "everyone",
              },
            },
          ],
        },
      },
    ]);
    assert.match(String(a?.response?.["reason"]), /RIPOSTE_CONNECTOR_MIMECAST_URL/);
    assert.equal(fake.requests.length, 0);
  });
});
