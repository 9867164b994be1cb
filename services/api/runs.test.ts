/**
 * The runs API over runs a real executor made (against the CrowdStrike fake, in-memory state shared with the API):
 * a decision's run with each step's state, attempts, output, latency and trace id; its audit records; status
 * filters and pages; 404 and 400; a viewer reads.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Decision } from "../../schemas/index.ts";
import { PlaybookFile, targetKey } from "../../schemas/index.ts";
import { CONNECTORS } from "../executor/connectors/index.ts";
import { Executor } from "../executor/executor.ts";
import { playbookHash } from "../executor/plan.ts";
import { RunStore, runIdOf } from "../executor/runs.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import { startVendors, type Vendors } from "../../test/support/vendors.ts";
import { buildApi } from "./app.ts";

const VIEWER = "runs-viewer-token-0123456789";
const topics = topicNames("runsapi");
const pb = PlaybookFile.parse({
  id: "isolate-host",
  version: 4,
  name: "Isolate",
  steps: [
    { id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" } },
    {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      params: { device_id: "{{steps.lookup.output.device_id}}" },
      retry: { max: 0, backoff: "10ms" },
    },
  ],
});

const decision = (id: string, host: string): Decision => ({
  id,
  outcome: "respond",
  time: Date.now(),
  alert: {
    uid: `a-${id}`,
    fingerprint: `f-${id}`,
    entity_key: `host:${host}`,
    class_uid: 2004,
    title: "t",
    source: "s",
    severity_id: 4,
    time: 1,
  },
  rule: { id: "r", version: 1, hash: "h", name: "r" },
  playbook: "isolate-host",
  target: { type: "host", value: host },
  params: {},
  approval: "none",
});

describe("GET /v1/runs, /v1/runs/{id}, /v1/actions", () => {
  let v: Vendors;
  const state = new MemoryState();
  const bus = new MemoryBus();
  const api = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: "runs-admin-token-0123456789",
    apiTokens: [{ name: "vic", role: "viewer", token: VIEWER }],
    sourceTokens: {},
    maxBodyBytes: 1024,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    runs: new RunStore({ state, prefix: "runsapi" }),
  });
  const get = async (url: string, token = VIEWER) => {
    const res = await api.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  before(async () => {
    v = await startVendors({ "web-01": "0123456789abcdef0123456789abcdef" });
    await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
    const ex = new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: CONNECTORS,
      connectorConfig: v.connectorConfig,
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "runsapi",
    });
    // d1 contains web-01; d2's host is unknown to the EDR: its lookup fails and the run is aborted.
    for (const [id, host] of [
      ["d1", "web-01"],
      ["d2", "ghost-9"],
    ] as const) {
      const d = decision(id, host);
      await ex.handle([
        {
          topic: topics.decisions,
          partition: 0,
          offset: "0",
          key: targetKey({ type: "host", value: host }),
          value: Buffer.from(JSON.stringify(d)),
          headers: {},
          timestamp: 0,
        },
      ]);
    }
  });
  after(async () => {
    await api.close();
    await bus.close();
    await state.close();
    await v.close();
  });

  test("a decision's run: status, playbook version and hash, each step's state, attempts, output, latency, trace", async () => {
    const { status, body } = await get("/v1/runs?decision_id=d1");
    assert.equal(status, 200);
    const runs = body["runs"] as Array<Record<string, unknown>>;
    assert.equal(runs.length, 1);
    const run = runs[0] as Record<string, unknown>;
    assert.equal(run["id"], runIdOf("d1"));
    assert.equal(run["status"], "succeeded");
    assert.deepEqual(run["playbook"], { id: "isolate-host", version: 4, hash: playbookHash(pb) });
    assert.equal(run["actions"], undefined, "the audit records are GET /v1/actions'");
    const one = await get(`/v1/runs/${runIdOf("d1")}`);
    assert.equal(one.status, 200);
    const steps = one.body["steps"] as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(steps), ["lookup", "contain"]);
    assert.deepEqual(
      Object.values(steps).map((s) => s["attempts"]),
      [1, 2],
      "contain_host: the device's resolve, then the call",
    );
    for (const s of Object.values(steps)) {
      assert.equal(s["state"], "succeeded");
      assert.equal(typeof s["latency_ms"], "number");
      assert.match(String(s["trace_id"]), /^[0-9a-f]{32}$/);
    }
    assert.equal((steps["lookup"]?.["output"] as Record<string, unknown>)["hostname"], "web-01");
  });

  test("the audit records of a decision, each naming the playbook's id, version and hash", async () => {
    const { status, body } = await get("/v1/actions?decision_id=d1");
    assert.equal(status, 200);
    assert.equal(body["run_id"], runIdOf("d1"));
    const actions = body["actions"] as Array<Record<string, unknown>>;
    assert.deepEqual(
      actions.map((a) => [a["step"], a["action"], a["status"], a["playbook_version"], a["playbook_hash"]]),
      [
        ["lookup", "get_device", "succeeded", 4, playbookHash(pb)],
        ["contain", "contain_host", "succeeded", 4, playbookHash(pb)],
      ],
    );
    assert.deepEqual(await get("/v1/actions?decision_id=nope"), {
      status: 200,
      body: { decision_id: "nope", actions: [] },
    });
  });

  test("filters by status and pages latest first", async () => {
    const aborted = await get("/v1/runs?status=aborted");
    assert.deepEqual(
      (aborted.body["runs"] as Array<Record<string, unknown>>).map((r) => [r["decision_id"], r["aborted_by"]]),
      [["d2", "lookup"]],
    );
    const first = await get("/v1/runs?limit=1");
    const page1 = first.body["runs"] as Array<Record<string, unknown>>;
    assert.equal(page1.length, 1);
    assert.equal(typeof first.body["next_cursor"], "string");
    const second = await get(`/v1/runs?limit=1&cursor=${String(first.body["next_cursor"])}`);
    const page2 = second.body["runs"] as Array<Record<string, unknown>>;
    assert.equal(page2.length, 1);
    assert.notEqual(page2[0]?.["id"], page1[0]?.["id"]);
    assert.deepEqual([...page1, ...page2].map((r) => r["decision_id"]).sort(), ["d1", "d2"]);
  });

  test("bad queries are 400 and say why; an unknown run is 404; no token is 401", async () => {
    const bad = await get("/v1/runs?status=nope");
    assert.equal(bad.status, 400);
    assert.equal((bad.body["error"] as Record<string, unknown>)["code"], "RIPOSTE_QUERY_INVALID");
    assert.match(String((bad.body["error"] as Record<string, unknown>)["message"]), /status/);
    assert.equal((await get("/v1/actions")).status, 400);
    assert.match(
      String(((await get("/v1/actions")).body["error"] as Record<string, unknown>)["message"]),
      /decision_id/,
    );
    assert.equal((await get("/v1/runs/not-a-run")).status, 400);
    assert.equal((await get(`/v1/runs/${"0".repeat(32)}`)).status, 404);
    assert.equal((await get("/v1/runs?cursor=garbage")).status, 400);
    assert.equal((await get("/v1/runs", "wrong-token-0123456789")).status, 401);
  });
});
