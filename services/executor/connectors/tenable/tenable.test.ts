/** The Tenable connector against the Tenable fake, through the executor. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  TENABLE_ACCESS,
  TENABLE_SECRET,
  startTenableFake,
  tenableError,
  type TenableFake,
} from "../../../../test/fakes/tenable.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { tenable } from "./index.ts";

const CREDS = { access_key: TENABLE_ACCESS, secret_key: TENABLE_SECRET };
const ASSET = "3f6b7b7e-1c1f-4a5e-9c55-5a0b6d6e9f01";

const step = (over: Record<string, unknown> = {}) =>
  playbookOf("tenable-test", [
    { id: "s", connector: "tenable", action: "asset_vulnerabilities", params: { host: "{{target.value}}" }, ...over },
  ]);

describe("tenable connector", () => {
  let fake: TenableFake;
  before(async () => {
    fake = await startTenableFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.assets.length = 0;
    fake.assets.push({
      id: ASSET,
      hostname: ["ws-042"],
      fqdn: ["ws-042.corp.example"],
      ipv4: ["10.1.2.3"],
      ipv6: [],
      last_seen: "2026-12-01T10:00:00.000Z",
      vulns: [
        { plugin_id: 156860, plugin_name: "Apache Log4j RCE", severity: 4, exploit_available: true },
        { plugin_id: 150000, plugin_name: "Critical, no exploit", severity: 4, exploit_available: false },
        { plugin_id: 140000, plugin_name: "High", severity: 3, exploit_available: true },
        { plugin_id: 130000, plugin_name: "Medium", severity: 2, exploit_available: false },
        { plugin_id: 19506, plugin_name: "Nessus Scan Information", severity: 0, exploit_available: false },
        { plugin_id: 120000, plugin_name: "Fixed critical", severity: 4, exploit_available: true, state: "Fixed" },
      ],
    });
  });

  const run = (host: string, opts: { creds?: Record<string, string>; over?: Record<string, unknown> } = {}) =>
    runDecisions({
      playbook: step(opts.over),
      decisions: [decisionFor("tenable-test", { type: "host", value: host })],
      connectorConfig: { tenable: live(fake.url, opts.creds ?? CREDS) },
    });

  test("reads exactly RIPOSTE_CONNECTOR_TENABLE_URL, _ACCESS_KEY and _SECRET_KEY", () => {
    assert.deepEqual(connectorVariables(tenable), [
      "RIPOSTE_CONNECTOR_TENABLE_URL",
      "RIPOSTE_CONNECTOR_TENABLE_ACCESS_KEY",
      "RIPOSTE_CONNECTOR_TENABLE_SECRET_KEY",
    ]);
  });

  test("finds the asset by hostname, counts by severity, critical_exploitable and priority_boost 2", async () => {
    const [a] = await run("WS-042");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.deepEqual(
      fake.requests.map((r) => `${r.path}?${r.query.toString()}`),
      [
        "/workbenches/assets?filter.0.filter=host.hostname&filter.0.quality=eq&filter.0.value=ws-042",
        `/workbenches/assets/${ASSET}/vulnerabilities?`,
        `/workbenches/assets/${ASSET}/vulnerabilities?filter.0.filter=plugin.attributes.exploit_available&filter.0.quality=eq&filter.0.value=true`,
      ],
    );
    assert.ok(
      fake.requests.every((r) => r.headers["x-apikeys"] === `accessKey=${TENABLE_ACCESS};secretKey=${TENABLE_SECRET}`),
    );
    assert.deepEqual(a?.response, {
      host: "ws-042",
      found: true,
      asset_id: ASSET,
      assets_matched: 1,
      last_seen: "2026-12-01T10:00:00.000Z",
      counts: { info: 1, low: 0, medium: 1, high: 1, critical: 2 },
      critical_exploitable: true,
      exploitable_critical: [{ plugin_id: 156860, plugin_name: "Apache Log4j RCE" }],
      priority_boost: 2,
    });
  });

  test("by IP; critical without exploit gives boost 1 and no second vulnerability query without criticals", async () => {
    const asset = fake.assets[0];
    if (asset) asset.vulns = asset.vulns.filter((v) => v.plugin_id !== 156860);
    const [a] = await run("10.1.2.3");
    assert.equal(fake.requests[0]?.query.get("filter.0.filter"), "ipv4");
    assert.equal(a?.response?.["critical_exploitable"], false);
    assert.equal(a?.response?.["priority_boost"], 1);
    if (asset) asset.vulns = asset.vulns.filter((v) => v.severity < 3);
    fake.requests.length = 0;
    const [b] = await run("10.1.2.3");
    assert.equal(b?.response?.["priority_boost"], 0);
    assert.equal(fake.requests.length, 2, "no exploitability query when nothing is critical");
  });

  test("an unknown host is found: false with zero counts (a result, not an error)", async () => {
    const [a] = await run("nobody.example");
    assert.equal(a?.status, "succeeded");
    assert.equal(a?.response?.["found"], false);
    assert.equal(a?.response?.["priority_boost"], 0);
    assert.equal(fake.requests.length, 1);
  });

  test("several matching assets: the most recently seen one is reported, with the count", async () => {
    fake.assets.push({
      id: "older",
      hostname: ["ws-042"],
      fqdn: [],
      ipv4: [],
      ipv6: [],
      last_seen: "2025-01-01T00:00:00.000Z",
      vulns: [],
    });
    const [a] = await run("ws-042");
    assert.equal(a?.response?.["asset_id"], ASSET);
    assert.equal(a?.response?.["assets_matched"], 2);
  });

  test("401 is an auth error naming both variables, not retried, keys never recorded", async () => {
    const [a] = await run("ws-042", { creds: { access_key: "bad-access", secret_key: "bad-secret" } });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Invalid Credentials.*RIPOSTE_CONNECTOR_TENABLE_SECRET_KEY/);
    assert.ok(!JSON.stringify(a).includes("bad-secret"));
    assert.equal(fake.requests.length, 1);
  });

  test("429 with Retry-After, 5xx, a timeout and a malformed body are retried", async () => {
    fake.faults.push(
      {
        ...tenableError(429, "Too Many Requests", "You have exceeded the rate limit"),
        headers: { "retry-after": "0" },
      },
      tenableError(503, "Service Unavailable", "Try again"),
      { status: 200, body: { assets: [] }, delayMs: 1_000 },
      { status: 200, raw: "<html>", headers: { "content-type": "text/html" } },
    );
    const [a] = await run("ws-042", { over: { timeout: "300ms", retry: { max: 4, backoff: "10ms" } } });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 5);
    assert.equal(a?.response?.["priority_boost"], 2);
    assert.equal(fake.requests.length, 7, "four faults, then the three queries");
  });

  test("the asset gone between the two queries (404) is not found, not retried", async () => {
    fake.faults.push(
      { status: 200, body: { assets: [{ id: ASSET, last_seen: "2026-12-01T10:00:00.000Z", ipv4: [] }], total: 1 } },
      tenableError(404, "Not Found", "Asset not found"),
    );
    const [a] = await run("ws-042");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.match(a?.error?.message ?? "", /Asset not found/);
    assert.equal(fake.requests.length, 2);
  });

  test("a host with query syntax in it is refused before anything is sent", async () => {
    await run("ws-042&filter.1.filter=ipv4");
    assert.equal(fake.requests.length, 0);
  });

  test("dry run: the exact requests (the asset id as a placeholder)", async () => {
    const [a] = await runDecisions({
      playbook: step(),
      decisions: [decisionFor("tenable-test", { type: "host", value: "10.1.2.3" })],
      connectorConfig: { tenable: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      { method: "GET", path: "/workbenches/assets?filter.0.filter=ipv4&filter.0.quality=eq&filter.0.value=10.1.2.3" },
      { method: "GET", path: "/workbenches/assets/{asset_id}/vulnerabilities" },
      {
        method: "GET",
        path: "/workbenches/assets/{asset_id}/vulnerabilities?filter.0.filter=plugin.attributes.exploit_available&filter.0.quality=eq&filter.0.value=true",
      },
    ]);
  });
});
