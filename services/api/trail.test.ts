import { test } from "node:test";
import assert from "node:assert/strict";
import type { InMessage } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { requireRedis, uniquePrefix } from "../../test/support/env.ts";
import { buildApi } from "./app.ts";
import { MAX_ENTRIES, MemoryTrailStore, RedisTrailStore, trailEntries, trailView, type TrailEntry } from "./trail.ts";

const topics = topicNames("trail");
const TRACE = "0af7651916cd43dd8448eb211c80319c";
const msg = (topic: string, value: unknown, traceparent = `00-${TRACE}-b7ad6b7169203331-01`): InMessage => ({
  topic,
  partition: 0,
  offset: "0",
  key: null,
  value: Buffer.from(typeof value === "string" ? value : JSON.stringify(value)),
  headers: { traceparent },
  timestamp: 0,
});

const normalized = {
  class_uid: 2004,
  class_name: "Detection Finding",
  severity_id: 4,
  finding_info: { uid: "alert-1", title: "x".repeat(5000) },
  metadata: { uid: "vendor-1" },
  riposte: {
    source: "edr",
    format: "crowdstrike_falcon",
    received_time: 1000,
    entity_key: "host:web-01",
    fingerprint: "fp1",
  },
};
const decision = {
  id: "d1",
  outcome: "respond",
  time: 2000,
  alert: { uid: "alert-1" },
  rule: { id: "edr-high", version: 3, hash: "h", name: "n" },
  playbook: "isolate-host",
  target: { type: "host", value: "web-01" },
  score: 60,
};
const action = {
  id: "a1",
  decision_id: "d1",
  playbook: "isolate-host",
  step: "contain",
  connector: "crowdstrike",
  action: "contain_host",
  status: "succeeded",
  attempts: 1,
  started: 2100,
  finished: 2350,
  alert_uid: "alert-1",
};

test("trail entries: received, decision and action records become compact entries under the alert's id", () => {
  const entries = trailEntries(
    [
      msg(topics.normalized, normalized),
      msg(topics.decisions, decision),
      msg(topics.actions, action),
      msg(topics.actions, "not json"),
      msg(topics.decisions, { id: "d2", alert: { uid: "x".repeat(600) } }),
    ],
    topics,
  );
  assert.equal(entries.length, 3, "unreadable records and oversized ids are skipped");
  assert.ok(entries.every((e) => e.alertId === "alert-1"));
  const [r, d, a] = entries.map((e) => e.entry);
  assert.equal(r?.stage, "received");
  assert.ok(r?.stage === "received" && r.title.length <= 301, "long titles are clipped");
  assert.equal(r?.trace_id, TRACE);
  assert.deepEqual(d?.stage === "decision" && d.rule, { id: "edr-high", version: 3, hash: "h" });
  assert.equal(a?.stage === "action" && a.latency_ms, 250);
  const view = trailView(
    "alert-1",
    entries.map((e) => e.entry),
  );
  assert.equal(view.decisions[0]?.actions.length, 1, "actions sit under their decision");
  assert.deepEqual(view.trace_ids, [TRACE]);
});

test("the memory trail is bounded: entries per alert, alerts in all, and retention", async () => {
  let now = 0;
  const store = new MemoryTrailStore(1000, 3, () => now);
  const e = (time: number): TrailEntry => ({ stage: "decision", time, decision_id: `d${time}`, outcome: "duplicate" });
  await store.append(Array.from({ length: MAX_ENTRIES + 50 }, (_, i) => ({ alertId: "a", entry: e(i) })));
  const kept = await store.read("a");
  assert.equal(kept.length, MAX_ENTRIES);
  assert.equal(kept[0]?.time, 50, "the newest are kept");
  await store.append(["b", "c", "d"].map((alertId) => ({ alertId, entry: e(1) })));
  assert.equal(store.size, 3);
  assert.deepEqual(await store.read("a"), [], "the least recently written alert left first");
  now = 1001;
  assert.deepEqual(await store.read("b"), [], "expired after the retention");
});

test("the Redis trail keeps each alert's list capped and expiring", async () => {
  const url = await requireRedis();
  const prefix = uniquePrefix("trail");
  const store = new RedisTrailStore(url, prefix, 60_000);
  const e = (time: number): TrailEntry => ({ stage: "decision", time, decision_id: `d${time}`, outcome: "duplicate" });
  await store.append(Array.from({ length: MAX_ENTRIES + 5 }, (_, i) => ({ alertId: "a1", entry: e(i) })));
  const kept = await store.read("a1");
  assert.equal(kept.length, MAX_ENTRIES);
  assert.equal(kept[0]?.time, 5);
  assert.deepEqual(await store.read("unknown"), []);
  const { Redis } = await import("ioredis");
  const r = new Redis(url);
  const ttl = await r.pttl(`${prefix}:{trail:a1}`);
  assert.ok(ttl > 0 && ttl <= 60_000, `expires (pttl ${ttl})`);
  await r.del(`${prefix}:{trail:a1}`);
  r.disconnect();
  await store.close();
});

test("GET /v1/alerts/{id}/trail: the story with the API token; 404 when unknown; a source token cannot read it", async () => {
  const store = new MemoryTrailStore(60_000);
  await store.append(trailEntries([msg(topics.normalized, normalized), msg(topics.decisions, decision)], topics));
  const app = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: "trail-api-token-0123456789",
    sourceTokens: { "alert-1": "source-token-0123456789" },
    maxBodyBytes: 1024,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    trail: store,
  });
  const get = (id: string, token: string) =>
    app.inject({ method: "GET", url: `/v1/alerts/${id}/trail`, headers: { authorization: `Bearer ${token}` } });
  const ok = await get("alert-1", "trail-api-token-0123456789");
  assert.equal(ok.statusCode, 200);
  const body = ok.json<{ received: unknown[]; decisions: Array<{ rule: { id: string } }> }>();
  assert.equal(body.received.length, 1);
  assert.equal(body.decisions[0]?.rule.id, "edr-high");
  assert.equal((await get("nope", "trail-api-token-0123456789")).statusCode, 404);
  assert.equal((await get("alert-1", "source-token-0123456789")).statusCode, 401, "a source token only ingests");
  await app.close();
});
