/** The VirusTotal connector against the VirusTotal fake, through the executor. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { VT_KEY, startVirusTotalFake, vtError, type VirusTotalFake } from "../../../../test/fakes/virustotal.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { virustotal, vtUrlId } from "./index.ts";
import { vtError as toError } from "./transport.ts";

const step = (action: string, value: string, over: Record<string, unknown> = {}) =>
  playbookOf("vt-test", [{ id: "s", connector: "virustotal", action, params: { value }, ...over }]);

describe("virustotal connector", () => {
  let fake: VirusTotalFake;
  before(async () => {
    fake = await startVirusTotalFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.objects.clear();
    fake.quota = Infinity;
    fake.objects.set("ip_addresses/203.0.113.7", {
      stats: { malicious: 3, suspicious: 1, harmless: 60, undetected: 20 },
      reputation: -12,
    });
  });

  const run = (action: string, value: string, opts: { key?: string; over?: Record<string, unknown> } = {}) =>
    runDecisions({
      playbook: step(action, value, opts.over),
      decisions: [decisionFor("vt-test", { type: "ip", value: "203.0.113.7" })],
      connectorConfig: { virustotal: live(fake.url, { api_key: opts.key ?? VT_KEY }) },
    });

  test("reads exactly RIPOSTE_CONNECTOR_VIRUSTOTAL_URL and _API_KEY", () => {
    assert.deepEqual(connectorVariables(virustotal), [
      "RIPOSTE_CONNECTOR_VIRUSTOTAL_URL",
      "RIPOSTE_CONNECTOR_VIRUSTOTAL_API_KEY",
    ]);
  });

  test("lookup_ip: GET /api/v3/ip_addresses/{ip} with x-apikey; a compact verdict", async () => {
    const [a] = await run("lookup_ip", "203.0.113.7");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0]?.path, "/api/v3/ip_addresses/203.0.113.7");
    assert.equal(fake.requests[0]?.headers["x-apikey"], VT_KEY);
    assert.deepEqual(a?.response, {
      found: true,
      type: "ip_address",
      id: "203.0.113.7",
      malicious: 3,
      suspicious: 1,
      harmless: 60,
      undetected: 20,
      reputation: -12,
      verdict: "malicious",
      last_analysis_date: "2023-11-14T22:13:20.000Z",
    });
  });

  test("lookup_url uses the unpadded base64url id; lookup_domain and lookup_hash normalise their value", async () => {
    const url = "http://malicious.example/login?next=/a>b";
    fake.objects.set(`urls/${url}`, {
      stats: { malicious: 0, suspicious: 2, harmless: 1, undetected: 5 },
      reputation: 0,
    });
    fake.objects.set("domains/evil.example", {
      stats: { malicious: 0, suspicious: 0, harmless: 9, undetected: 1 },
      reputation: 5,
    });
    const sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    fake.objects.set(`files/${sha}`, {
      stats: { malicious: 0, suspicious: 0, harmless: 0, undetected: 70 },
      reputation: 0,
    });
    const [u] = await run("lookup_url", url);
    assert.equal(
      vtUrlId(url),
      Buffer.from(url).toString("base64").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"),
    );
    assert.ok(!vtUrlId(url).includes("="));
    assert.equal(fake.requests[0]?.path, `/api/v3/urls/${vtUrlId(url)}`);
    assert.equal(u?.response?.["verdict"], "suspicious");
    const [d] = await run("lookup_domain", "Evil.Example.");
    assert.equal(fake.requests[1]?.path, "/api/v3/domains/evil.example");
    assert.equal(d?.response?.["verdict"], "harmless");
    const [h] = await run("lookup_hash", sha.toUpperCase());
    assert.equal(fake.requests[2]?.path, `/api/v3/files/${sha}`);
    assert.equal(h?.response?.["verdict"], "undetected");
  });

  test("404 NotFoundError is a result (found: false, verdict unknown), not an error, and not retried", async () => {
    const [a] = await run("lookup_ip", "198.51.100.9");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 1);
    assert.equal(a?.response?.["found"], false);
    assert.equal(a?.response?.["verdict"], "unknown");
    assert.equal(a?.response?.["malicious"], 0);
  });

  test("a 404 that is not VirusTotal's NotFoundError (a wrong base URL, a proxy) is an error, not 'unknown'", async () => {
    fake.faults.push({ status: 404, raw: "<html>Not Found</html>", headers: { "content-type": "text/html" } });
    const [a] = await run("lookup_ip", "203.0.113.7");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
  });

  test("401 is an auth error naming the variable, not retried, the key never in the record", async () => {
    const [a] = await run("lookup_ip", "203.0.113.7", { key: "not-the-key-xyz" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /WrongCredentialsError.*RIPOSTE_CONNECTOR_VIRUSTOTAL_API_KEY/);
    assert.equal(fake.requests.length, 1);
    assert.ok(!JSON.stringify(a).includes("not-the-key-xyz"));
  });

  test("429 quota, 503 TransientError, a timeout and a malformed body are retried", async () => {
    fake.faults.push(
      { ...vtError(429, "QuotaExceededError", "Quota exceeded"), headers: { "retry-after": "0" } },
      vtError(503, "TransientError", "Try again"),
      { status: 200, body: { data: null }, delayMs: 1_000 },
      { status: 200, raw: "<html>", headers: { "content-type": "text/html" } },
    );
    const [a] = await run("lookup_ip", "203.0.113.7", {
      over: { timeout: "300ms", retry: { max: 4, backoff: "10ms" } },
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 5);
    assert.equal(fake.requests.length, 5);
  });

  test("a 429 without Retry-After waits a quarter minute (4 requests a minute on the public API)", () => {
    const e = toError(
      { status: 429, body: { error: { code: "QuotaExceededError", message: "q" } }, headers: new Headers() },
      "lookup",
    );
    assert.equal(e.code, "RIPOSTE_CONNECTOR_RATE_LIMITED");
    assert.equal(e.retryAfterMs, 15_000);
    assert.match(e.message, /00:00 UTC/);
  });

  test("bad values never reach VirusTotal", async () => {
    for (const [action, value] of [
      ["lookup_ip", "203.0.113.7/24"],
      ["lookup_domain", "a/../b"],
      ["lookup_url", "javascript:alert(1)"],
      ["lookup_hash", "abc"],
    ] as const) {
      const [a] = await run(action, value);
      assert.equal(a?.status, "failed", `${action} ${value}`);
    }
    assert.equal(fake.requests.length, 0);
  });

  test("dry run: the exact request, nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: step("lookup_url", "https://x.example/"),
      decisions: [decisionFor("vt-test", { type: "ip", value: "203.0.113.7" })],
      connectorConfig: { virustotal: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [{ method: "GET", path: "/api/v3/urls/aHR0cHM6Ly94LmV4YW1wbGUv" }]);
    assert.equal(fake.requests.length, 0);
  });
});
