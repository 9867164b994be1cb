/** One conformance suite for both buses: the in-process bus and Kafka (real broker). */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { KafkaBus, MemoryBus, type Bus, type InMessage } from "../services/shared/bus/index.ts";
import { silentLogger } from "../services/shared/log.ts";
import { eventually, requireKafka, uniquePrefix } from "./support/env.ts";

const implementations: Array<[string, () => Promise<Bus>]> = [
  ["memory", async () => new MemoryBus()],
  ["kafka", async () => new KafkaBus({ brokers: await requireKafka(), clientId: "conformance", log: silentLogger })],
];

for (const [name, make] of implementations) {
  describe(`bus conformance: ${name}`, () => {
    const buses: Bus[] = [];
    const bus = async () => {
      const b = await make();
      buses.push(b);
      return b;
    };
    after(async () => {
      await Promise.all(buses.map((b) => b.close()));
    });

    test("delivers every message with key, value and headers; one key keeps its order", async () => {
      const b = await bus();
      const topic = uniquePrefix("order");
      await b.ensureTopics([{ name: topic, partitions: 3 }]);
      const msgs = Array.from({ length: 60 }, (_, i) => ({
        key: `k${i % 4}`,
        value: JSON.stringify({ i }),
        headers: { traceparent: `t${i}` },
      }));
      await b.publish(topic, msgs);
      const got: InMessage[] = [];
      const sub = await b.subscribe({
        groupId: `${topic}-g`,
        topics: [topic],
        handler: async (batch) => void got.push(...batch),
      });
      await eventually(() => got.length >= 60, "60 messages");
      await sub.stop();
      assert.equal(got.length, 60);
      for (const m of got) {
        const { i } = JSON.parse(m.value.toString()) as { i: number };
        assert.equal(m.key, `k${i % 4}`);
        assert.equal(m.headers["traceparent"], `t${i}`);
      }
      for (let k = 0; k < 4; k++) {
        const seq = got
          .filter((m) => m.key === `k${k}`)
          .map((m) => (JSON.parse(m.value.toString()) as { i: number }).i);
        assert.deepEqual(
          seq,
          [...seq].sort((a, b2) => a - b2),
          `key k${k} in order`,
        );
        assert.equal(
          new Set(got.filter((m) => m.key === `k${k}`).map((m) => m.partition)).size,
          1,
          "one key, one partition",
        );
      }
    });

    test("a failing handler gets the same batch again; nothing is lost or skipped", async () => {
      const b = await bus();
      const topic = uniquePrefix("redeliver");
      await b.ensureTopics([{ name: topic, partitions: 1 }]);
      await b.publish(
        topic,
        [1, 2, 3].map((i) => ({ key: "k", value: String(i) })),
      );
      const seen: string[] = [];
      let failures = 0;
      const sub = await b.subscribe({
        groupId: `${topic}-g`,
        topics: [topic],
        handler: async (batch) => {
          if (failures < 2) {
            failures++;
            throw new Error("transient");
          }
          seen.push(...batch.map((m) => m.value.toString()));
        },
      });
      await eventually(() => seen.length >= 3, "redelivered batch");
      await sub.stop();
      assert.deepEqual(seen, ["1", "2", "3"]);
      assert.equal(failures, 2);
    });

    test("offsets are committed after the handler: a restarted group resumes after what it handled", async () => {
      const b = await bus();
      const topic = uniquePrefix("commit");
      const group = `${topic}-g`;
      await b.ensureTopics([{ name: topic, partitions: 1 }]);
      await b.publish(topic, [
        { key: "a", value: "1" },
        { key: "a", value: "2" },
      ]);
      const first: string[] = [];
      const s1 = await b.subscribe({
        groupId: group,
        topics: [topic],
        handler: async (batch) => void first.push(...batch.map((m) => m.value.toString())),
      });
      await eventually(() => first.length >= 2, "first two");
      await s1.stop();
      await b.publish(topic, [{ key: "a", value: "3" }]);
      const second: string[] = [];
      const s2 = await b.subscribe({
        groupId: group,
        topics: [topic],
        handler: async (batch) => void second.push(...batch.map((m) => m.value.toString())),
      });
      await eventually(() => second.length >= 1, "the new message");
      await new Promise((r) => setTimeout(r, 300));
      await s2.stop();
      assert.deepEqual(first, ["1", "2"]);
      assert.deepEqual(second, ["3"]);
    });

    test("publishBatch writes to several topics at once", async () => {
      const b = await bus();
      const t1 = uniquePrefix("multi1");
      const t2 = uniquePrefix("multi2");
      await b.ensureTopics([
        { name: t1, partitions: 1 },
        { name: t2, partitions: 1 },
      ]);
      await b.publishBatch([
        { topic: t1, messages: [{ key: null, value: "x" }] },
        {
          topic: t2,
          messages: [
            { key: "y", value: "y" },
            { key: "y", value: "z" },
          ],
        },
        { topic: t1, messages: [] },
      ]);
      const got: string[] = [];
      const sub = await b.subscribe({
        groupId: `${t1}-g`,
        topics: [t1, t2],
        handler: async (batch) => void got.push(...batch.map((m) => `${m.topic === t1 ? 1 : 2}:${m.value.toString()}`)),
      });
      await eventually(() => got.length >= 3, "three messages");
      await sub.stop();
      assert.deepEqual(got.sort(), ["1:x", "2:y", "2:z"]);
    });

    test("offsets and committed offsets tell how far a group has read", async () => {
      const b = await bus();
      const topic = uniquePrefix("offsets");
      const group = `${topic}-g`;
      await b.ensureTopics([{ name: topic, partitions: 1 }]);
      assert.deepEqual([...(await b.offsets(topic))], [[0, { low: "0", high: "0" }]]);
      await b.publish(topic, [
        { key: "a", value: "1" },
        { key: "a", value: "2" },
      ]);
      assert.equal((await b.offsets(topic)).get(0)?.high, "2");
      assert.equal((await b.committedOffsets(group, topic)).size, 0);
      let n = 0;
      const sub = await b.subscribe({
        groupId: group,
        topics: [topic],
        handler: async (batch) => void (n += batch.length),
      });
      await eventually(() => n >= 2, "two messages");
      await eventually(async () => (await b.committedOffsets(group, topic)).get(0) === "2", "commit of offset 2");
      await sub.stop();
    });

    test("ensureTopics is idempotent", async () => {
      const b = await bus();
      const topic = uniquePrefix("idem");
      await b.ensureTopics([{ name: topic, partitions: 2 }]);
      await b.ensureTopics([{ name: topic, partitions: 2 }]);
      await b.publish(topic, [{ key: "a", value: "1" }]);
    });
  });
}

test("the in-memory bus keeps bounded memory: consumed messages and unconsumed topics are trimmed", async () => {
  const b = new MemoryBus();
  await b.ensureTopics([
    { name: "consumed", partitions: 1 },
    { name: "audit", partitions: 1 },
  ]);
  let n = 0;
  const sub = await b.subscribe({
    groupId: "g",
    topics: ["consumed"],
    handler: async (batch) => void (n += batch.length),
  });
  for (let i = 0; i < 30; i++) {
    await b.publish(
      "consumed",
      Array.from({ length: 1_000 }, () => ({ key: "k", value: "x" })),
    );
    await b.publish(
      "audit",
      Array.from({ length: 1_000 }, () => ({ key: "k", value: "x" })),
    );
  }
  await eventually(() => n >= 30_000, "all consumed");
  await sub.stop();
  const kept = async (t: string) => {
    const o = (await b.offsets(t)).get(0);
    return Number(o?.high) - Number(o?.low);
  };
  assert.ok((await kept("consumed")) <= 3_000, `consumed topic keeps ${await kept("consumed")}`);
  assert.ok((await kept("audit")) <= 12_000, `unconsumed topic keeps ${await kept("audit")}`);
  await b.close();
});

test("kafka: a handler slower than the session timeout keeps its membership, commits, and consumes on", async () => {
  const b = new KafkaBus({
    brokers: await requireKafka(),
    clientId: "slow",
    log: silentLogger,
    sessionTimeoutMs: 6_000,
  });
  const topic = uniquePrefix("slow");
  await b.ensureTopics([{ name: topic, partitions: 1 }]);
  await b.publish(topic, [{ key: "a", value: "1" }]);
  const seen: string[] = [];
  const sub = await b.subscribe({
    groupId: `${topic}-g`,
    topics: [topic],
    handler: async (batch) => {
      if (batch.some((m) => m.value.toString() === "1")) await new Promise((r) => setTimeout(r, 9_000));
      seen.push(...batch.map((m) => m.value.toString()));
    },
  });
  await eventually(() => seen.includes("1"), "the slow batch", 30_000);
  await b.publish(topic, [{ key: "a", value: "2" }]);
  await eventually(() => seen.includes("2"), "a message after the slow batch", 30_000);
  assert.deepEqual(seen, ["1", "2"], "nothing redelivered: the slow batch was committed");
  await sub.stop();
  await b.close();
});
