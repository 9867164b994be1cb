/** The AbuseIPDB connector against the AbuseIPDB fake, through the executor. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ABUSEIPDB_KEY,
  abuseErrors,
  startAbuseIpdbFake,
  type AbuseIpdbFake,
} from "../../../../test/fakes/abuseipdb.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { abuseipdb, abuseRetryAfterMs } from "./index.ts";

const step = (params: Record<string, string> = {}, over: Record<string, unknown> = {}) =>
  playbookOf("abuse-test", [
    { id: "s", connector: "abuseipdb", action: "check_ip", params: { ip: "{{target.value}}", ...params }, ...over },
  ]);

describe("abuseipdb connector", () => {
  let fake: AbuseIpdbFake;
  before(async () => {
    fake = await startAbuseIpdbFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.quota = 1000;
    fake.reports.clear();
    fake.reports.set("118.25.6.39", {
      abuseConfidenceScore: 100,
      totalReports: 42,
      countryCode: "CN",
      isWhitelisted: false,
    });
  });

  const run = (
    ip: string,
    opts: { key?: string; params?: Record<string, string>; over?: Record<string, unknown> } = {},
  ) =>
    runDecisions({
      playbook: step(opts.params, opts.over),
      decisions: [decisionFor("abuse-test", { type: "ip", value: ip })],
      connectorConfig: { abuseipdb: live(fake.url, { api_key: opts.key ?? ABUSEIPDB_KEY }) },
    });

  test("reads exactly RIPOSTE_CONNECTOR_ABUSEIPDB_URL and _API_KEY", () => {
    assert.deepEqual(connectorVariables(abuseipdb), [
      "RIPOSTE_CONNECTOR_ABUSEIPDB_URL",
      "RIPOSTE_CONNECTOR_ABUSEIPDB_API_KEY",
    ]);
  });

  test("check_ip: GET /api/v2/check?ipAddress=&maxAgeInDays=90 with the Key header; plain JSON for conditions", async () => {
    const [a] = await run("118.25.6.39");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.equal(fake.requests.length, 1);
    const r = fake.requests[0];
    assert.equal(r?.path, "/api/v2/check");
    assert.equal(r?.query.toString(), "ipAddress=118.25.6.39&maxAgeInDays=90");
    assert.equal(r?.headers["key"], ABUSEIPDB_KEY);
    assert.equal(r?.headers["accept"], "application/json");
    assert.deepEqual(a?.response, {
      ipAddress: "118.25.6.39",
      abuseConfidenceScore: 100,
      totalReports: 42,
      numDistinctUsers: 7,
      countryCode: "CN",
      isWhitelisted: false,
      isTor: false,
      usageType: "Data Center/Web Hosting/Transit",
      isp: "Example Hosting",
      domain: "example.net",
      lastReportedAt: "2026-11-30T12:00:00+00:00",
    });
  });

  test("an unreported IP scores 0; IPv6 is sent canonical and encoded; max_age_days is passed", async () => {
    const [a] = await run("2001:DB8::0:1", { params: { max_age_days: "30" } });
    assert.equal(a?.response?.["abuseConfidenceScore"], 0);
    assert.equal(fake.requests[0]?.query.get("ipAddress"), "2001:db8::1");
    assert.equal(fake.requests[0]?.query.get("maxAgeInDays"), "30");
  });

  test("401 is an auth error naming the variable; 422 is rejected; neither retried", async () => {
    const [a] = await run("118.25.6.39", { key: "bad-key-000" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Authentication failed.*RIPOSTE_CONNECTOR_ABUSEIPDB_API_KEY/);
    assert.ok(!JSON.stringify(a).includes("bad-key-000"));
    fake.faults.push(abuseErrors(422, "The ip address must be a valid IPv4 or IPv6 address.", "ipAddress"));
    const [b] = await run("118.25.6.39");
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(b?.error?.message ?? "", /must be a valid/);
    assert.equal(fake.requests.length, 2);
  });

  test("429 waits Retry-After; 5xx, a timeout and a malformed body are retried", async () => {
    fake.faults.push(
      {
        ...abuseErrors(429, "Daily rate limit of 1000 requests exceeded for this endpoint."),
        headers: { "retry-after": "0" },
      },
      abuseErrors(500, "Server Error"),
      { status: 200, body: { data: {} }, delayMs: 1_000 },
      { status: 200, body: { data: {} } },
    );
    const [a] = await run("118.25.6.39", { over: { timeout: "300ms", retry: { max: 4, backoff: "10ms" } } });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 5);
    assert.equal(fake.requests.length, 5);
    assert.equal(a?.response?.["abuseConfidenceScore"], 100);
  });

  test("a spent daily quota fails as rate limited after the step's retries, saying so", async () => {
    fake.quota = 0;
    const [a] = await run("118.25.6.39");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_RATE_LIMITED");
    assert.match(a?.error?.message ?? "", /daily check quota/);
    assert.equal(fake.requests.length, 3, "the first try and two retries");
  });

  test("X-RateLimit-Reset is epoch seconds; Retry-After wins", () => {
    const now = 1_700_000_000_000;
    assert.equal(abuseRetryAfterMs(new Headers({ "x-ratelimit-reset": "1700000060" }), now), 60_000);
    assert.equal(abuseRetryAfterMs(new Headers({ "x-ratelimit-reset": "1700000060", "retry-after": "3" }), now), 3_000);
  });

  test("a CIDR or a name is refused before anything is sent", async () => {
    await run("10.0.0.0/8");
    await run("evil.example");
    assert.equal(fake.requests.length, 0);
  });

  test("dry run: the exact request, nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: step(),
      decisions: [decisionFor("abuse-test", { type: "ip", value: "118.25.6.39" })],
      connectorConfig: { abuseipdb: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      { method: "GET", path: "/api/v2/check?ipAddress=118.25.6.39&maxAgeInDays=90" },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
