import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { Metrics } from "../shared/metrics.ts";
import { splitBody } from "./body.ts";
import { Ingestor } from "./ingestor.ts";

const ALERT = JSON.stringify({
  timestamp: "2026-11-20T09:14:02Z",
  flow_id: 1,
  event_type: "alert",
  src_ip: "10.1.1.1",
  dest_ip: "198.51.100.1",
  alert: { signature_id: 1, signature: "Test", category: "Test", severity: 1 },
});

test("a source bound to formats cannot send others: the event is dead-lettered with the reason", async () => {
  const bus = new MemoryBus();
  const topics = topicNames("ing");
  await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const ingestor = new Ingestor({
    bus,
    topics,
    metrics: new Metrics(),
    sourceFormats: { edr: ["crowdstrike_falcon"], ids: ["suricata_eve"] },
  });
  const refused = await ingestor.ingest(splitBody(ALERT), { source: "edr" });
  assert.equal(refused.dead_lettered, 1);
  assert.equal(refused.items[0]?.code, "RIPOSTE_FORMAT_NOT_ALLOWED");
  assert.match(refused.items[0]?.reason ?? "", /may only send crowdstrike_falcon, not suricata_eve/);
  assert.equal((await ingestor.ingest(splitBody(ALERT), { source: "ids" })).normalized, 1);
  assert.equal(
    (await ingestor.ingest(splitBody(ALERT), { source: "unlisted" })).normalized,
    1,
    "unlisted sources may send any format",
  );
  await bus.close();
});

test("fuzz finding: normalizeEvent never throws, even for an event too deep to serialize", async () => {
  const { normalizeEvent } = await import("./normalizers/index.ts");
  const value = JSON.parse(ALERT) as Record<string, unknown>;
  let deep: unknown = 1;
  for (let i = 0; i < 20_000; i++) deep = [deep];
  value["extra"] = deep;
  const out = normalizeEvent({ kind: "json", value }, ALERT, { source: "ids", receivedTime: 0 });
  assert.equal(out.ok, false);
  assert.equal(!out.ok && out.code, "RIPOSTE_SCHEMA_INVALID");
});

test("per-source class drop: dropped events are counted, neither published nor dead-lettered; off by default", async () => {
  const { corpusText } = await import("./normalizers/testing.ts");
  const body = corpusText("suricata/elastic-integrations__suricata_eve__test-eve-small.log");
  const bus = new MemoryBus();
  const topics = topicNames("ingdrop");
  await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const published = async (topic: string) => Number((await bus.offsets(topic)).get(0)?.high ?? 0);
  const metrics = new Metrics();
  // ids drops flows/TLS (4001) and engine stats (0); every source drops DNS (4003).
  const ingestor = new Ingestor({ bus, topics, metrics, dropClasses: { ids: [4001, 0], "*": [4003] } });
  const out = await ingestor.ingest(splitBody(body), { source: "ids" });
  assert.equal(out.accepted, 12);
  assert.equal(out.dropped, 6, "3 tls + 1 flow (4001), 1 stats (0), 1 dns (4003)");
  assert.equal(out.normalized, 6);
  assert.equal(out.dead_lettered, 0);
  assert.deepEqual(out.failed, {});
  assert.equal(out.items.filter((i) => i.status === "dropped").length, 6);
  assert.equal(await published(topics.normalized), 6);
  assert.equal(await published(topics.dlq), 0);
  assert.equal(metrics.snapshot()["ingest_dropped_total"], 6);
  const other = await ingestor.ingest(splitBody(body), { source: "other" });
  assert.equal(other.dropped, 1, "only the wildcard's DNS");
  assert.equal(other.normalized, 11);
  const plain = await new Ingestor({ bus, topics, metrics: new Metrics() }).ingest(splitBody(body), { source: "ids" });
  assert.equal(plain.dropped, 0);
  assert.equal(plain.normalized, 12);
  await bus.close();
});
