/**
 * Hostile senders end to end, counting calls at the EDR fake: a per-source token cannot get a host contained by
 * passing off forged EDR detections, not at ingest and not at DLQ replay (finding 4 of the hardening issue); and
 * on the raw Kafka topic a poison message is dead-lettered while the good message after it, same key, goes through
 * (finding 3).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { KafkaBus, type InMessage } from "../../services/shared/bus/index.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { startServices } from "../../services/runtime.ts";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { eventually, requireKafka, requireRedis, uniquePrefix } from "../support/env.ts";
import { startHarness, TOKEN, type Harness } from "../support/harness.ts";

const OKTA_TOKEN = "okta-token-0123456789abcdef";
const DETECTION = JSON.parse(
  readFileSync(new URL("../../services/demo/alerts/crowdstrike.ndjson", import.meta.url), "utf8").split("\n")[0] ?? "",
) as { event: Record<string, unknown> };
const DEVICE_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/** A forged detection for host i. */
const forged = (i: number) => JSON.stringify({ ...DETECTION, event: { ...DETECTION.event, Hostname: `SRV-${i}` } });

describe("a per-source token cannot contain hosts with forged detections (embedded)", () => {
  let edr: FalconFake;
  let h: Harness;
  const devices: Record<string, string> = { "FIN-WS-042": DEVICE_ID };
  for (let i = 0; i < 50; i++) devices[`SRV-${i}`] = `${DEVICE_ID.slice(0, 30)}${String(i).padStart(2, "0")}`;

  before(async () => {
    edr = await startFalconFake(devices);
    h = await startHarness("embedded", edr.url, {
      RIPOSTE_INGEST_TOKENS: `okta=${OKTA_TOKEN}`,
      RIPOSTE_SOURCE_FORMATS: "okta=okta_system_log,edr=crowdstrike_falcon",
    });
  });
  after(async () => {
    await h?.stop();
    await edr?.close();
  });

  test("50 forged Falcon detections with the okta token: 422, nothing normalized, no contain call", async () => {
    const res = await h.post("okta?format=crowdstrike", Array.from({ length: 50 }, (_, i) => forged(i)).join("\n"), {
      authorization: `Bearer ${OKTA_TOKEN}`,
    });
    assert.equal(res.status, 422, JSON.stringify(res.body).slice(0, 300));
    assert.deepEqual(res.body["failed"], { RIPOSTE_FORMAT_NOT_ALLOWED: 50 });
    await eventually(() => h.dlq.length >= 50, "50 DLQ records", 30_000);
    assert.equal(h.dlq[0]?.["requested_format"], "crowdstrike");

    // Replaying the DLQ keeps the binding: still nothing contained.
    const replay = await fetch(`${h.url}/v1/dlq/replay`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: "{}",
    });
    assert.equal(replay.status, 200, await replay.clone().text());
    const report = (await replay.json()) as { replayed: number; scanned: number };
    assert.equal(report.replayed, 0, JSON.stringify(report));

    // A positive control through the bound EDR source: the pipeline does contain when it should.
    const real = await h.post("edr", JSON.stringify(DETECTION));
    assert.equal(real.status, 202, JSON.stringify(real.body).slice(0, 300));
    await eventually(() => edr.actions().length >= 1, "the one legitimate contain call", 30_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(edr.actions().length, 1, "only the legitimate detection contained a host");
    assert.equal(h.normalized.length, 1);
  });
});

describe("raw Kafka topic: a poison message is dead-lettered and the partition moves on", () => {
  test("poison (too many events, bad format header, deep nesting) then a good message, same key", async () => {
    const brokers = await requireKafka();
    const redisUrl = await requireRedis();
    const prefix = uniquePrefix("raw");
    const config = loadConfig(
      {
        KAFKA_BROKERS: brokers.join(","),
        REDIS_URL: redisUrl,
        RIPOSTE_TOPIC_PREFIX: prefix,
        RIPOSTE_TOPIC_PARTITIONS: "1",
        RIPOSTE_API_TOKEN: TOKEN,
        RIPOSTE_INGEST_MAX_EVENTS: "100",
        RIPOSTE_LOG_LEVEL: "silent",
      },
      CONNECTORS,
    );
    const running = await startServices({ config, services: ["ingest"], log: silentLogger, listen: false });
    const observer = new KafkaBus({ brokers, clientId: "raw-observer", log: silentLogger });
    const seen: InMessage[] = [];
    const sub = await observer.subscribe({
      groupId: `${prefix}.observer`,
      topics: [running.topics.normalized, running.topics.dlq],
      handler: async (b) => void seen.push(...b),
    });
    try {
      const headers = { "riposte-source": "edr" };
      await running.bus.publish(running.topics.raw, [
        { key: "k", value: "{}\n".repeat(500), headers },
        { key: "k", value: JSON.stringify(DETECTION), headers: { ...headers, "riposte-format": "no such/format" } },
        { key: "k", value: `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`, headers },
        { key: "k", value: JSON.stringify(DETECTION), headers },
      ]);
      await eventually(
        () => seen.some((m) => m.topic === running.topics.normalized),
        "the good message after the poison ones to be normalized",
        60_000,
      );
      const dlq = seen
        .filter((m) => m.topic === running.topics.dlq)
        .map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>);
      assert.deepEqual(
        dlq.map((r) => r["code"]),
        ["RIPOSTE_TOO_MANY_EVENTS", "RIPOSTE_QUERY_INVALID", "RIPOSTE_NESTING_TOO_DEEP"],
      );
      assert.equal(Buffer.from(String(dlq[0]?.["original"]), "base64").toString(), "{}\n".repeat(500));
      assert.equal(seen.filter((m) => m.topic === running.topics.normalized).length, 1);
    } finally {
      await sub.stop();
      await observer.close();
      await running.stop();
    }
  });
});
