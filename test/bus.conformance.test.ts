/** One conformance suite for both buses: the in-process bus and Kafka (real broker). */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { Kafka, Partitioners, logLevel } from "kafkajs";
import { KafkaBus, MemoryBus, PlatformaticBus, type Bus, type InMessage } from "../services/shared/bus/index.ts";
import type { KafkaBusOptions } from "../services/shared/bus/kafka.ts";
import { RETAIN_BYTES, RETAIN_RECORDS } from "../services/shared/bus/memory.ts";
import type { RiposteError } from "../services/shared/errors.ts";
import { silentLogger } from "../services/shared/log.ts";
import { eventually, requireKafka, uniquePrefix } from "./support/env.ts";

/** Every retained message of a topic, read by an ephemeral group that is deleted afterwards. */
async function readAll(b: Bus, topic: string): Promise<InMessage[]> {
  const last = new Map<number, number>();
  for (const [p, o] of await b.offsets(topic)) if (o.high !== o.low) last.set(p, Number(o.high) - 1);
  const got: InMessage[] = [];
  if (last.size === 0) return got;
  const groupId = uniquePrefix("read-all");
  const sub = await b.subscribe({
    groupId,
    topics: [topic],
    ephemeral: true,
    handler: async (batch) => {
      got.push(...batch);
      for (const m of batch) if (Number(m.offset) >= (last.get(m.partition) ?? Infinity)) last.delete(m.partition);
    },
  });
  await eventually(() => last.size === 0, `${topic} read to its end`);
  await sub.stop();
  await b.deleteGroup(groupId);
  return got;
}

const implementations: Array<[string, () => Promise<Bus>]> = [
  ["memory", async () => new MemoryBus()],
  ["kafka", async () => new KafkaBus({ brokers: await requireKafka(), clientId: "conformance", log: silentLogger })],
  [
    "kafka (platformatic)",
    async () => new PlatformaticBus({ brokers: await requireKafka(), clientId: "conformance-plt", log: silentLogger }),
  ],
];

/** Both Kafka clients, for the tests that only a real broker can run. */
const kafkaClients: Array<[string, (o: KafkaBusOptions) => Bus]> = [
  ["kafkajs", (o) => new KafkaBus(o)],
  ["platformatic", (o) => new PlatformaticBus(o)],
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

    test("stop lets the batch in flight finish and commits it", async () => {
      const b = await bus();
      const topic = uniquePrefix("stop-commit");
      const group = `${topic}-g`;
      await b.ensureTopics([{ name: topic, partitions: 1 }]);
      await b.publish(
        topic,
        [1, 2, 3].map((i) => ({ key: "k", value: String(i) })),
      );
      let seen = 0;
      let handled!: () => void;
      const inHandler = new Promise<void>((r) => (handled = r));
      const sub = await b.subscribe({
        groupId: group,
        topics: [topic],
        handler: async (batch) => {
          seen += batch.length;
          if (seen >= 3) handled();
          await new Promise((r) => setTimeout(r, 200));
        },
      });
      await inHandler;
      await sub.stop();
      assert.equal((await b.committedOffsets(group, topic)).get(0), "3", "the handled batch is committed");
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

    test("ensureTopics leaves existing topics as they are (partitions, messages) and creates the missing ones", async () => {
      const b = await bus();
      const kept = uniquePrefix("idem");
      const added = uniquePrefix("idem-new");
      await b.ensureTopics([{ name: kept, partitions: 2 }]);
      await b.publish(
        kept,
        ["a", "b", "c", "d"].map((k, i) => ({ key: k, value: String(i) })),
      );
      const before = [...(await b.offsets(kept))];
      await b.ensureTopics([
        { name: kept, partitions: 4 },
        { name: added, partitions: 3 },
      ]);
      assert.deepEqual([...(await b.offsets(kept))], before, "same partitions, same offsets");
      assert.equal((await b.offsets(added)).size, 3, "the missing topic is created with its partitions");
      await b.publish(added, [{ key: "x", value: "new" }]);
      assert.deepEqual(
        (await readAll(b, kept)).map((m) => m.value.toString()).sort(),
        ["0", "1", "2", "3"],
        "the messages published before are still there",
      );
      assert.deepEqual(
        (await readAll(b, added)).map((m) => m.value.toString()),
        ["new"],
      );
    });

    test("deleteGroup forgets a group's offsets (it reads from the start again); unknown groups are a no-op", async () => {
      const b = await bus();
      const topic = uniquePrefix("delgroup");
      const group = `${topic}-g`;
      await b.ensureTopics([{ name: topic, partitions: 1 }]);
      await b.publish(topic, [
        { key: "a", value: "1" },
        { key: "a", value: "2" },
      ]);
      const s1 = await b.subscribe({ groupId: group, topics: [topic], handler: async () => undefined });
      await eventually(async () => (await b.committedOffsets(group, topic)).get(0) === "2", "commit of offset 2");
      await s1.stop();
      await b.deleteGroup(group);
      assert.equal((await b.committedOffsets(group, topic)).size, 0, "no committed offsets left");
      const again: string[] = [];
      const s2 = await b.subscribe({
        groupId: group,
        topics: [topic],
        handler: async (batch) => void again.push(...batch.map((m) => m.value.toString())),
      });
      await eventually(() => again.length >= 2, "both messages again");
      await s2.stop();
      assert.deepEqual(again, ["1", "2"]);
      await b.deleteGroup(group);
      await b.deleteGroup(`${topic}-never-existed`);
    });

    test("what an ephemeral group reads stays retained for the other groups", async () => {
      const b = await bus();
      const topic = uniquePrefix("ephemeral");
      await b.ensureTopics([{ name: topic, partitions: 1 }]);
      await b.publish(
        topic,
        Array.from({ length: 3_000 }, (_, i) => ({ key: "k", value: String(i) })),
      );
      const once = `${topic}-once`;
      let n = 0;
      const s1 = await b.subscribe({
        groupId: once,
        topics: [topic],
        ephemeral: true,
        handler: async (batch) => void (n += batch.length),
      });
      await eventually(() => n >= 3_000, "the ephemeral group read everything");
      await s1.stop();
      await b.deleteGroup(once);
      assert.equal((await readAll(b, topic)).length, 3_000, "nothing was freed by the ephemeral read");
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

test("the in-memory bus retains fairly per key: a flood from one key does not evict another key's records", async () => {
  const b = new MemoryBus();
  await b.ensureTopics([{ name: "dlq", partitions: 1 }]);
  await b.publish(
    "dlq",
    Array.from({ length: 5 }, (_, i) => ({ key: "edr", value: `edr-${i}` })),
  );
  for (let i = 0; i < 30; i++) {
    await b.publish(
      "dlq",
      Array.from({ length: 1_000 }, () => ({ key: "flood", value: "x" })),
    );
  }
  const kept = await readAll(b, "dlq");
  assert.deepEqual(
    kept.filter((m) => m.key === "edr").map((m) => m.value.toString()),
    ["edr-0", "edr-1", "edr-2", "edr-3", "edr-4"],
    "the small source keeps all its records",
  );
  assert.ok(kept.length <= RETAIN_RECORDS, `keeps ${kept.length} records`);
  assert.equal(kept.at(-1)?.key, "flood", "the newest record is kept");
  await b.close();
});

test("the in-memory bus caps retained bytes, fairly per key, not only records", async () => {
  const b = new MemoryBus();
  await b.ensureTopics([{ name: "dlq", partitions: 1 }]);
  await b.publish(
    "dlq",
    Array.from({ length: 10 }, (_, i) => ({ key: "ids", value: `ids-${i}` })),
  );
  const big = "x".repeat(3 * 1024 * 1024);
  for (let i = 0; i < 20; i++) await b.publish("dlq", [{ key: "edr", value: big }]);
  const kept = await readAll(b, "dlq");
  const bytes = kept.reduce((n, m) => n + m.value.length, 0);
  assert.ok(bytes <= RETAIN_BYTES, `keeps ${bytes} bytes in ${kept.length} records`);
  assert.equal(kept.filter((m) => m.key === "ids").length, 10, "the small source keeps all its records");
  assert.ok(kept.filter((m) => m.key === "edr").length >= 1, "the big source keeps its newest");
  await b.close();
});

test("the in-memory bus: groups that stopped or were deleted do not stop retention of a topic", async () => {
  const b = new MemoryBus();
  await b.ensureTopics([{ name: "dlq", partitions: 1 }]);
  await b.publish("dlq", [{ key: "a", value: "first" }]);
  for (const [groupId, ephemeral] of [
    ["replay", false],
    ["replay.once", true],
    ["replay.deleted", false],
  ] as const) {
    let n = 0;
    const sub = await b.subscribe({ groupId, topics: ["dlq"], ephemeral, handler: async (m) => void (n += m.length) });
    await eventually(() => n >= 1, `${groupId} read`);
    await sub.stop();
  }
  await b.deleteGroup("replay.deleted");
  for (let i = 0; i < 30; i++) {
    await b.publish(
      "dlq",
      Array.from({ length: 1_000 }, (_, j) => ({ key: `k${j % 7}`, value: "x" })),
    );
  }
  const kept = (await readAll(b, "dlq")).length;
  assert.ok(kept <= RETAIN_RECORDS, `keeps ${kept} records`);
  await b.close();
});

for (const [client, kafkaBus] of kafkaClients) {
  test(`kafka (${client}): a record the broker refuses fails only its own caller, and later publishes are all written`, async () => {
    const brokers = await requireKafka();
    const b = kafkaBus({ brokers, clientId: "rejected", log: silentLogger });
    const topic = uniquePrefix("too-large");
    const kafka = new Kafka({ clientId: "rejected-admin", brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // A topic that existed before Riposte, with a small max.message.bytes.
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 2, configEntries: [{ name: "max.message.bytes", value: "4096" }] }],
      });
      await b.ensureTopics([{ name: topic, partitions: 2 }]);
      const partitionOf = Partitioners.DefaultPartitioner();
      const meta = [0, 1].map((p) => ({ partitionId: p, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      const part = (key: string) => partitionOf({ topic, partitionMetadata: meta, message: { key, value: "" } });
      const small = "s";
      const large = ["l", "m", "n", "o", "p"].find((k) => part(k) !== part(small)) as string;
      // The first call flushes alone; the three after it are coalesced into one produce request.
      const warmUp = b.publish(topic, [{ key: small, value: "warm-up" }]);
      const results = await Promise.allSettled([
        b.publish(topic, [{ key: small, value: "a" }]),
        b.publish(topic, [{ key: large, value: "x".repeat(20_000) }]),
        b.publishBatch([{ topic, messages: [{ key: small, value: "c" }] }]),
      ]);
      await warmUp;
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      const err = (results[1] as PromiseRejectedResult).reason as RiposteError;
      assert.equal(err.code, "RIPOSTE_BUS_REJECTED");
      assert.equal(err.retriable, false);
      await b.publish(topic, [
        { key: small, value: "d" },
        { key: large, value: "e" },
      ]);
      const values = new Set((await readAll(b, topic)).map((m) => m.value.toString()));
      for (const v of ["warm-up", "a", "c", "d", "e"]) assert.ok(values.has(v), `${v} was written`);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
      await b.close();
    }
  });

  test(`kafka (${client}): a handler slower than the session timeout keeps its membership, commits, and consumes on`, async () => {
    const b = kafkaBus({
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
}

test("kafka: both clients put a key on the same partition (Java's murmur2), and null keys spread", async () => {
  const brokers = await requireKafka();
  const topic = uniquePrefix("same-partition");
  const buses = kafkaClients.map(([client, make]) =>
    make({ brokers, clientId: `partition-${client}`, log: silentLogger }),
  );
  try {
    await (buses[0] as Bus).ensureTopics([{ name: topic, partitions: 6 }]);
    const keys = Array.from({ length: 40 }, (_, i) => `host-${i}`);
    for (const [i, b] of buses.entries()) {
      await b.publish(
        topic,
        keys.map((k) => ({ key: k, value: `${i}` })),
      );
      await b.publish(
        topic,
        Array.from({ length: 12 }, () => ({ key: null, value: `null-${i}` })),
      );
    }
    const got = await readAll(buses[0] as Bus, topic);
    for (const k of keys) {
      const parts = new Set(got.filter((m) => m.key === k).map((m) => m.partition));
      assert.equal(parts.size, 1, `${k} is on one partition whichever client wrote it`);
    }
    for (const i of buses.keys()) {
      const parts = new Set(got.filter((m) => m.value.toString() === `null-${i}`).map((m) => m.partition));
      assert.ok(parts.size > 1, `null keys from ${kafkaClients[i]?.[0]} spread over partitions`);
      assert.ok(
        got.filter((m) => m.value.toString() === `null-${i}`).every((m) => m.key === null),
        "a null key reads back as null",
      );
    }
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
});
