/** The PAN-OS connector against the PAN-OS fake, through the executor (guards, retries, audit records). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  PANOS_KEY,
  PANOS_TAG,
  panosErrorReply,
  startPanosFake,
  xmlReply,
  type PanosFake,
} from "../../../../test/fakes/panos.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { chunks, panos, PanosClient, uidMessage } from "./index.ts";

const step = (action: string, params: Record<string, unknown> = {}, over: Record<string, unknown> = {}) =>
  playbookOf("panos-test", [
    { id: "s", connector: "panos", action, params: { ip: "{{target.value}}", ...params }, ...over },
  ]);

const CREDS = { api_key: PANOS_KEY, tag: PANOS_TAG };

describe("panos connector", () => {
  let fake: PanosFake;
  before(async () => {
    fake = await startPanosFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.registered.clear();
    fake.refuse.clear();
  });

  const run = (
    action: string,
    ip: string,
    opts: {
      params?: Record<string, unknown>;
      creds?: Record<string, string>;
      over?: Record<string, unknown>;
      protect?: string[];
    } = {},
  ) =>
    runDecisions({
      playbook: step(action, opts.params, opts.over),
      decisions: [decisionFor("panos-test", { type: "ip", value: ip })],
      connectorConfig: { panos: live(fake.url, opts.creds ?? CREDS) },
      ...(opts.protect ? { protect: { cidrs: opts.protect } } : {}),
    });

  test("reads exactly RIPOSTE_CONNECTOR_PANOS_URL, _API_KEY and _TAG", () => {
    assert.deepEqual(connectorVariables(panos), [
      "RIPOSTE_CONNECTOR_PANOS_URL",
      "RIPOSTE_CONNECTOR_PANOS_API_KEY",
      "RIPOSTE_CONNECTOR_PANOS_TAG",
    ]);
  });

  test("block_ip: one User-ID POST with the tag and timeout, the key in X-PAN-KEY only", async () => {
    const [a] = await run("block_ip", "203.0.113.7", { params: { timeout: "3600" } });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.requests.length, 1);
    const req = fake.requests[0];
    assert.equal(req?.method, "POST");
    assert.equal(req?.path, "/api/");
    assert.equal(req?.query.size, 0, "nothing in the URL");
    assert.equal(req?.headers["x-pan-key"], PANOS_KEY);
    assert.equal(req?.headers["content-type"], "application/x-www-form-urlencoded");
    const form = new URLSearchParams(req?.body);
    assert.deepEqual([...form.keys()], ["type", "cmd"]);
    assert.equal(form.get("type"), "user-id");
    assert.equal(
      form.get("cmd"),
      '<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="203.0.113.7"><tag>' +
        `<member timeout="3600">${PANOS_TAG}</member></tag></entry></register></payload></uid-message>`,
    );
    assert.equal(fake.registered.get("203.0.113.7")?.get(PANOS_TAG), 3600);
    assert.deepEqual(a?.response, {
      ip: "203.0.113.7",
      tag: PANOS_TAG,
      timeout: 3600,
      registered: true,
      already: false,
    });
    assert.equal(a?.classification, "containment");
  });

  test("blocking again is done ('already exists, ignore'); unblock_ip unregisters, and again is done", async () => {
    await run("block_ip", "203.0.113.7");
    const [again] = await run("block_ip", "203.0.113.7");
    assert.equal(again?.status, "succeeded", JSON.stringify(again));
    assert.equal(again?.response?.["already"], true);
    const [un] = await run("unblock_ip", "203.0.113.7");
    assert.equal(un?.status, "succeeded", JSON.stringify(un));
    assert.equal(un?.response?.["already"], false);
    assert.equal(fake.registered.has("203.0.113.7"), false);
    const cmd = new URLSearchParams(fake.requests[2]?.body).get("cmd");
    assert.equal(
      cmd,
      '<uid-message><version>2.0</version><type>update</type><payload><unregister><entry ip="203.0.113.7"><tag>' +
        `<member>${PANOS_TAG}</member></tag></entry></unregister></payload></uid-message>`,
    );
    const [unAgain] = await run("unblock_ip", "203.0.113.7");
    assert.equal(unAgain?.status, "succeeded", JSON.stringify(unAgain));
    assert.equal(unAgain?.response?.["already"], true);
    assert.equal(fake.uidCalls().length, 4, "one call per action");
  });

  test("the default timeout is 24 h; a CIDR and an IPv6 address are sent canonical", async () => {
    await run("block_ip", "10.1.2.3/8");
    await run("block_ip", "2001:DB8:0:0::1");
    assert.equal(fake.registered.get("10.0.0.0/8")?.get(PANOS_TAG), 86_400);
    assert.equal(fake.registered.has("2001:db8::1"), true);
  });

  test("403 (bad key) is an auth error, not retried, naming the variable and not the key", async () => {
    const [a] = await run("block_ip", "203.0.113.7", { creds: { api_key: "wrong-key", tag: PANOS_TAG } });
    assert.equal(a?.status, "failed");
    assert.equal(a?.attempts, 2, "the local resolve, then one call");
    assert.equal(fake.requests.length, 1);
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Invalid Credential/);
    assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_PANOS_API_KEY/);
    assert.ok(!JSON.stringify(a).includes("wrong-key"));
  });

  test("an HTTP 200 error answer with code 16 (unauthorized) is an auth error too", async () => {
    fake.faults.push(panosErrorReply("16", "Unauthorized request"));
    const [a] = await run("block_ip", "203.0.113.7");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.equal(fake.requests.length, 1);
  });

  test("404 (no XML API at this URL) is not found, not retried", async () => {
    fake.faults.push(xmlReply(404, "<html>Not Found</html>"));
    const [a] = await run("block_ip", "203.0.113.7");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.equal(fake.requests.length, 1);
  });

  test("a per-entry refusal is rejected with the firewall's message, not retried", async () => {
    fake.refuse.set("203.0.113.7", "max registered-ip for the platform reached");
    const [a] = await run("block_ip", "203.0.113.7");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(a?.error?.message ?? "", /max registered-ip/);
    assert.equal(fake.requests.length, 1);
  });

  test("5xx, 429 with Retry-After, a timeout and a malformed answer are retried (registering is idempotent)", async () => {
    fake.faults.push(
      xmlReply(503, "<html>busy</html>"),
      { status: 429, headers: { "retry-after": "0" }, raw: "" },
      { status: 200, delayMs: 1_000, raw: '<response status="success"/>' },
      xmlReply(200, '<response status="success"><result>'),
    );
    const [a] = await run("block_ip", "203.0.113.7", {
      over: { timeout: "300ms", retry: { max: 4, backoff: "10ms" } },
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 6, "the local resolve, then five calls");
    assert.equal(fake.uidCalls().length, 5);
    assert.equal(fake.registered.get("203.0.113.7")?.get(PANOS_TAG), 86_400);
  });

  test("an answer with a DOCTYPE (entity expansion) is refused, never expanded", async () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' +
      '<response status="success"><result>&b;</result></response>';
    fake.faults.push(xmlReply(200, bomb), xmlReply(200, bomb), xmlReply(200, bomb));
    const [a] = await run("block_ip", "203.0.113.7");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_UNAVAILABLE");
    assert.match(a?.error?.message ?? "", /DOCTYPE/);
  });

  test("bad input never reaches the firewall: an IP with XML in it, a timeout over 30 days", async () => {
    const [x] = await run("block_ip", '203.0.113.7"><entry ip="0.0.0.0/0');
    assert.equal(x?.status, "failed");
    const [t] = await run("block_ip", "203.0.113.7", { params: { timeout: "2592001" } });
    assert.equal(t?.status, "failed");
    assert.equal(fake.requests.length, 0);
  });

  test("a protected range is refused before any call; unblocking it is allowed", async () => {
    const [a] = await run("block_ip", "10.9.8.7", { protect: ["10.0.0.0/8"] });
    assert.equal(a?.status, "refused_protected", JSON.stringify(a));
    assert.equal(fake.requests.length, 0);
    const [u] = await run("unblock_ip", "10.9.8.7", { protect: ["10.0.0.0/8"] });
    assert.equal(u?.status, "succeeded", JSON.stringify(u));
  });

  test("dry run: the audit record names the exact request, and nothing is sent", async () => {
    const [a] = await runDecisions({
      playbook: step("block_ip", { timeout: "600" }),
      decisions: [decisionFor("panos-test", { type: "ip", value: "203.0.113.7" })],
      connectorConfig: { panos: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      {
        method: "POST",
        path: "/api/",
        body: {
          type: "user-id",
          cmd:
            '<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="203.0.113.7"><tag>' +
            '<member timeout="600">{RIPOSTE_CONNECTOR_PANOS_TAG}</member></tag></entry></register></payload></uid-message>',
        },
      },
    ]);
    assert.match(String(a?.response?.["reason"]), /RIPOSTE_CONNECTOR_PANOS_URL/);
    assert.equal(fake.requests.length, 0);
  });

  test("many entries go in one uid-message, with per-entry results", async () => {
    const client = new PanosClient(fake.url, CREDS);
    fake.registered.set("198.51.100.2", new Map([[PANOS_TAG, 60]]));
    fake.refuse.set("198.51.100.3", "invalid ip");
    const results = await client.registerIps(
      ["198.51.100.1", "198.51.100.2", "198.51.100.3"].map((ip) => ({ ip, timeout: 60 })),
      AbortSignal.timeout(2000),
    );
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(
      results.map((r) => [r.ip, r.ok, r.already]),
      [
        ["198.51.100.1", true, false],
        ["198.51.100.2", true, true],
        ["198.51.100.3", false, false],
      ],
    );
  });

  test("a large update is split into messages under the size limit, every entry kept once", () => {
    const register = Array.from({ length: 1000 }, (_, i) => ({
      ip: `10.0.${i >> 8}.${i & 255}`,
      tag: "t",
      timeout: 60,
    }));
    const parts = chunks({ register }, 30_000);
    assert.ok(parts.length > 1);
    assert.deepEqual(
      parts.flatMap((p) => p.register ?? []),
      register,
    );
    for (const p of parts)
      assert.ok(Buffer.byteLength(new URLSearchParams({ cmd: uidMessage(p) }).toString()) < 30_000);
  });

  test("an empty or over-long tag is a configuration error", () => {
    assert.throws(() => new PanosClient(fake.url, { api_key: PANOS_KEY, tag: " " }), /RIPOSTE_CONNECTOR_PANOS_TAG/);
  });
});
