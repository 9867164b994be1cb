/** The MISP connector against the MISP fake, through the executor. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MISP_KEY, cakeError, startMispFake, type MispAttribute, type MispFake } from "../../../../test/fakes/misp.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { misp } from "./index.ts";

const step = (params: Record<string, string> = {}, over: Record<string, unknown> = {}) =>
  playbookOf("misp-test", [
    {
      id: "s",
      connector: "misp",
      action: "search_attributes",
      params: { value: "{{target.value}}", ...params },
      ...over,
    },
  ]);

const attr = (id: number, over: Partial<MispAttribute> = {}): MispAttribute => ({
  id: String(id),
  event_id: String(40 + (id % 3)),
  type: "ip-dst",
  category: "Network activity",
  value: "203.0.113.7",
  to_ids: id % 2 === 0,
  tags: id % 2 === 0 ? ["tlp:amber"] : ["tlp:green"],
  event_info: `Phishing wave ${id % 3}`,
  ...over,
});

describe("misp connector", () => {
  let fake: MispFake;
  before(async () => {
    fake = await startMispFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.attributes.length = 0;
  });

  const run = (params: Record<string, string> = {}, opts: { key?: string; over?: Record<string, unknown> } = {}) =>
    runDecisions({
      playbook: step(params, opts.over),
      decisions: [decisionFor("misp-test", { type: "ip", value: "203.0.113.7" })],
      connectorConfig: { misp: live(fake.url, { api_key: opts.key ?? MISP_KEY }) },
    });

  test("reads exactly RIPOSTE_CONNECTOR_MISP_URL and _API_KEY", () => {
    assert.deepEqual(connectorVariables(misp), ["RIPOSTE_CONNECTOR_MISP_URL", "RIPOSTE_CONNECTOR_MISP_API_KEY"]);
  });

  test("search_attributes: one POST with the raw key; matches with event ids, tags and to_ids", async () => {
    fake.attributes.push(attr(1), attr(2), attr(3, { value: "198.51.100.1" }));
    const [a] = await run({ type: "ip-src,ip-dst" });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0]?.headers.authorization, MISP_KEY);
    assert.deepEqual(JSON.parse(fake.requests[0]?.body ?? ""), {
      returnFormat: "json",
      value: "203.0.113.7",
      type: ["ip-src", "ip-dst"],
      includeEventTags: true,
      limit: 100,
      page: 1,
    });
    assert.deepEqual(a?.response, {
      value: "203.0.113.7",
      found: true,
      count: 2,
      to_ids_count: 1,
      event_ids: ["41", "42"],
      tags: ["tlp:green", "tlp:amber"],
      pages: 1,
      truncated: false,
      matches: [
        {
          id: "1",
          event_id: "41",
          event_info: "Phishing wave 1",
          type: "ip-dst",
          category: "Network activity",
          value: "203.0.113.7",
          to_ids: false,
          tags: ["tlp:green"],
          timestamp: "1700000000",
        },
        {
          id: "2",
          event_id: "42",
          event_info: "Phishing wave 2",
          type: "ip-dst",
          category: "Network activity",
          value: "203.0.113.7",
          to_ids: true,
          tags: ["tlp:amber"],
          timestamp: "1700000000",
        },
      ],
    });
  });

  test("pages until a short page, up to max_pages (then truncated)", async () => {
    for (let i = 1; i <= 25; i++) fake.attributes.push(attr(i));
    const [a] = await run({ limit: "10" });
    assert.equal(a?.response?.["count"], 25);
    assert.equal(a?.response?.["pages"], 3);
    assert.equal(a?.response?.["truncated"], false);
    assert.deepEqual(
      fake.requests.map((r) => (JSON.parse(r.body) as { page: number }).page),
      [1, 2, 3],
    );
    fake.requests.length = 0;
    const [b] = await run({ limit: "10", max_pages: "2" });
    assert.equal(b?.response?.["count"], 20);
    assert.equal(b?.response?.["truncated"], true);
    assert.equal(fake.requests.length, 2);
  });

  test("no match is found: false, count 0", async () => {
    const [a] = await run({ to_ids: "true" });
    assert.equal(a?.status, "succeeded");
    assert.equal(a?.response?.["found"], false);
    assert.equal((JSON.parse(fake.requests[0]?.body ?? "") as { to_ids: boolean }).to_ids, true);
  });

  test("403 is an auth error naming the variable, not retried", async () => {
    const [a] = await run({}, { key: "wrong-misp-key" });
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Authentication failed.*RIPOSTE_CONNECTOR_MISP_API_KEY/);
    assert.ok(!JSON.stringify(a).includes("wrong-misp-key"));
    assert.equal(fake.requests.length, 1);
  });

  test("5xx, 429 with Retry-After, a timeout and a malformed body are retried (a search is idempotent)", async () => {
    fake.attributes.push(attr(2));
    fake.faults.push(
      cakeError(500, "An Internal Error Has Occurred."),
      { ...cakeError(429, "Too Many Requests"), headers: { "retry-after": "0" } },
      { status: 200, body: { response: [] }, delayMs: 1_000 },
      { status: 200, raw: "{", headers: { "content-type": "application/json" } },
    );
    const [a] = await run({}, { over: { timeout: "300ms", retry: { max: 4, backoff: "10ms" } } });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 5);
    assert.equal(a?.response?.["count"], 1);
  });

  test("404 (a MISP without restSearch at this URL) is not found, not retried", async () => {
    fake.faults.push(cakeError(404, "Not Found"));
    const [a] = await run();
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.equal(fake.requests.length, 1);
  });

  test("a bad attribute type is refused before anything is sent", async () => {
    await run({ type: 'ip-dst"}' });
    assert.equal(fake.requests.length, 0);
  });

  test("dry run: the exact first page request", async () => {
    const [a] = await runDecisions({
      playbook: step({ type: "domain" }),
      decisions: [decisionFor("misp-test", { type: "ip", value: "203.0.113.7" })],
      connectorConfig: { misp: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      {
        method: "POST",
        path: "/attributes/restSearch",
        body: {
          returnFormat: "json",
          value: "203.0.113.7",
          type: ["domain"],
          includeEventTags: true,
          limit: 100,
          page: 1,
        },
      },
    ]);
  });
});
