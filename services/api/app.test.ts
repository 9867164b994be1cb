import { describe, test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { MemoryBus, type Bus, type InMessage, type Subscription } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { RiposteError } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { Ingestor } from "../ingest/ingestor.ts";
import { replayDlq } from "../ingest/replay.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { MemoryState } from "../shared/state/index.ts";
import { buildApi, type Api } from "./app.ts";
import { signRequest } from "./auth.ts";

const topics = topicNames("api");
const API_TOKEN = "api-token-0123456789abcdef";
const SURICATA_TOKEN = "suricata-token-0123456789";
const HMAC_SECRET = "hmac-secret-0123456789abcdef";
const ALERT = JSON.stringify({
  timestamp: "2026-11-20T09:14:02.118402+0000",
  flow_id: 1,
  event_type: "alert",
  src_ip: "10.1.1.1",
  src_port: 1234,
  dest_ip: "198.51.100.1",
  dest_port: 443,
  proto: "TCP",
  alert: { action: "allowed", gid: 1, signature_id: 1, rev: 1, signature: "Test", category: "Test", severity: 1 },
});

describe("ingest API", () => {
  let bus: MemoryBus;
  let api: Api;
  let sub: Subscription;
  let got: InMessage[];

  function build(b: Bus) {
    const ingestor = new Ingestor({ bus: b, topics, metrics: new Metrics() });
    return buildApi({
      log: silentLogger,
      metrics: new Metrics(),
      apiToken: API_TOKEN,
      sourceTokens: { suricata: SURICATA_TOKEN },
      maxBodyBytes: 64 * 1024,
      hmacSecrets: { signed: HMAC_SECRET },
      replayWindowMs: 300_000,
      ingestor,
      replay: (o) => replayDlq({ bus: b, topics, ingestor, state: new MemoryState(), groupId: "replay", ...o }),
    });
  }
  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    api.inject({
      method: "POST",
      url,
      payload,
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json", ...headers },
    });

  beforeEach(async () => {
    bus = new MemoryBus();
    await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 2 })));
    got = [];
    sub = await bus.subscribe({
      groupId: "t",
      topics: [topics.normalized, topics.dlq],
      handler: async (b) => void got.push(...b),
    });
    api = build(bus);
    await api.ready();
  });
  afterEach(async () => {
    await api.close();
    await sub.stop();
    await bus.close();
  });

  test("gzip NDJSON with one broken line: 202, the good events normalized, the broken one dead-lettered", async () => {
    const body = gzipSync(`${ALERT}\n{"oops\n${ALERT.replace('"flow_id":1', '"flow_id":2')}\n`);
    const res = await post("/v1/alerts/suricata", body, {
      "content-encoding": "gzip",
      "content-type": "application/x-ndjson",
    });
    assert.equal(res.statusCode, 202, res.body);
    const r = res.json<{ accepted: number; normalized: number; dead_lettered: number }>();
    assert.deepEqual([r.accepted, r.normalized, r.dead_lettered], [3, 2, 1]);
    await new Promise((r2) => setTimeout(r2, 20));
    assert.equal(got.filter((m) => m.topic === topics.normalized).length, 2);
    assert.equal(got.filter((m) => m.topic === topics.dlq).length, 1);
  });

  test("bodies over the limit, and gzip bombs, get 413", async () => {
    assert.equal((await post("/v1/alerts/suricata", "x".repeat(70 * 1024))).statusCode, 413);
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 32));
    const res = await post("/v1/alerts/suricata", bomb, { "content-encoding": "gzip" });
    assert.equal(res.statusCode, 413);
    assert.match(res.json<{ error: { message: string } }>().error.message, /inflates beyond/);
  });

  test("per-source tokens only ingest for their own source; the API token everywhere; health needs none", async () => {
    assert.equal(
      (await post("/v1/alerts/suricata", ALERT, { authorization: `Bearer ${SURICATA_TOKEN}` })).statusCode,
      202,
    );
    assert.equal(
      (await post("/v1/alerts/crowdstrike", ALERT, { authorization: `Bearer ${SURICATA_TOKEN}` })).statusCode,
      401,
    );
    assert.equal(
      (await api.inject({ method: "GET", url: "/v1/stats", headers: { authorization: `Bearer ${SURICATA_TOKEN}` } }))
        .statusCode,
      401,
    );
    assert.equal(
      (await api.inject({ method: "GET", url: "/v1/stats", headers: { authorization: `Bearer ${API_TOKEN}` } }))
        .statusCode,
      200,
    );
    assert.equal((await api.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
  });

  test("HMAC-signed sources: missing, wrong, stale and valid signatures", async () => {
    const url = "/v1/alerts/signed?format=suricata_eve";
    const missing = await post(url, ALERT);
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.json<{ error: { code: string } }>().error.code, "RIPOSTE_SIGNATURE_INVALID");
    assert.equal(
      (await post(url, ALERT, { "x-riposte-signature": signRequest("POST", url, `${ALERT} `, HMAC_SECRET) }))
        .statusCode,
      401,
    );
    const stale = await post(url, ALERT, {
      "x-riposte-signature": signRequest("POST", url, ALERT, HMAC_SECRET, Date.now() - 600_000),
    });
    assert.match(stale.json<{ error: { message: string } }>().error.message, /replay window/);
    assert.equal(
      (await post(url, ALERT, { "x-riposte-signature": signRequest("POST", url, ALERT, HMAC_SECRET) })).statusCode,
      202,
    );
  });

  test("when the bus cannot acknowledge: 503 with Retry-After, nothing claimed accepted", async () => {
    const failing: Bus = Object.assign(Object.create(bus) as Bus, {
      publishBatch: async () => {
        throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", "Kafka did not acknowledge the batch");
      },
    });
    const down = build(failing);
    const res = await down.inject({
      method: "POST",
      url: "/v1/alerts/suricata",
      payload: ALERT,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    await down.close();
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers["retry-after"], "5");
  });

  test("unknown formats are refused with 422 and dead-lettered; DLQ replay reports them still failing", async () => {
    const res = await post("/v1/alerts/custom-siem", JSON.stringify({ foo: "bar" }));
    assert.equal(res.statusCode, 422);
    assert.equal(res.json<{ error: { code: string } }>().error.code, "RIPOSTE_FORMAT_UNKNOWN");
    const replay = await post("/v1/dlq/replay", "{}");
    assert.equal(replay.statusCode, 200, replay.body);
    assert.deepEqual(replay.json(), {
      scanned: 1,
      replayed: 0,
      still_failing: { RIPOSTE_FORMAT_UNKNOWN: 1 },
      skipped_other_stages: 0,
      unreadable: 0,
    });
  });

  test("DLQ replay sends records that now normalize back to the normalized topic, once", async () => {
    // A record dead-lettered by an older Riposte that had no Suricata normalizer.
    const old = dlqRecord({
      stage: "normalize",
      code: "RIPOSTE_FORMAT_UNKNOWN",
      reason: "no normalizer",
      source: "ids",
      original: ALERT,
      time: 1_700_000_000_000,
    });
    await bus.publish(topics.dlq, [{ key: "ids", value: JSON.stringify(old) }]);
    const first = await post("/v1/dlq/replay", "{}");
    assert.deepEqual(first.json(), {
      scanned: 1,
      replayed: 1,
      still_failing: {},
      skipped_other_stages: 0,
      unreadable: 0,
    });
    await new Promise((r) => setTimeout(r, 20));
    const normalized = got
      .filter((m) => m.topic === topics.normalized)
      .map((m) => JSON.parse(m.value.toString()) as { riposte: { source: string } });
    assert.equal(normalized.length, 1);
    assert.equal(normalized[0]?.riposte.source, "ids");
    const second = await post("/v1/dlq/replay", "{}");
    assert.equal(second.json<{ scanned: number }>().scanned, 0, "already replayed records are not replayed again");
    const again = await post("/v1/dlq/replay", JSON.stringify({ from_beginning: true, dry_run: true }));
    assert.deepEqual(again.json(), {
      scanned: 1,
      replayed: 1,
      still_failing: {},
      skipped_other_stages: 0,
      unreadable: 0,
    });
  });

  test("a dry run does not use up the records it reports", async () => {
    const old = dlqRecord({
      stage: "normalize",
      code: "RIPOSTE_FORMAT_UNKNOWN",
      reason: "no normalizer",
      source: "ids",
      original: ALERT,
      time: 1,
    });
    await bus.publish(topics.dlq, [{ key: "ids", value: JSON.stringify(old) }]);
    assert.equal(
      (await post("/v1/dlq/replay", JSON.stringify({ dry_run: true }))).json<{ replayed: number }>().replayed,
      1,
    );
    assert.equal(got.filter((m) => m.topic === topics.normalized).length, 0, "a dry run publishes nothing");
    assert.equal(
      (await post("/v1/dlq/replay", "{}")).json<{ replayed: number }>().replayed,
      1,
      "the real run still replays it",
    );
  });
});
