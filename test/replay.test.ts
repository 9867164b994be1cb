/** DLQ replay on both buses: the in-process bus with in-memory state, and Kafka with Redis. */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { Ingestor, type IngestOptions, type IngestResult } from "../services/ingest/ingestor.ts";
import type { Piece } from "../services/ingest/body.ts";
import { NORMALIZERS } from "../services/ingest/normalizers/index.ts";
import { replayDlq, type ReplayOptions, type ReplayReport } from "../services/ingest/replay.ts";
import { KafkaBus, MemoryBus, type Bus, type InMessage } from "../services/shared/bus/index.ts";
import { RETAIN_RECORDS } from "../services/shared/bus/memory.ts";
import { loadConfig, topicNames, type TopicNames } from "../services/shared/config.ts";
import { dlqRecord } from "../services/shared/dlq.ts";
import type { RiposteError } from "../services/shared/errors.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { MemoryState, RedisState, type StateStore } from "../services/shared/state/index.ts";
import { startServices } from "../services/runtime.ts";
import { requireKafka, requireRedis, uniquePrefix } from "./support/env.ts";

const firstLine = (file: string) =>
  readFileSync(new URL(`../services/demo/alerts/${file}`, import.meta.url), "utf8").split("\n")[0] as string;
const SURICATA = firstLine("suricata.ndjson");
/** A CrowdStrike detection: what a forged alert sent through the IDS source would look like. */
const CROWDSTRIKE = firstLine("crowdstrike.ndjson");
const BINDING = { ids: ["suricata_eve"] };
const TOKEN = "replay-token-0123456789abcdef";

/** A DLQ record as ingest writes it. */
function parked(args: { source: string; original: string; code?: string; requestedFormat?: string; time?: number }) {
  return JSON.stringify(
    dlqRecord({
      stage: "normalize",
      code: args.code ?? "RIPOSTE_FORMAT_UNKNOWN",
      reason: "parked by an older Riposte",
      source: args.source,
      original: args.original,
      requestedFormat: args.requestedFormat,
      time: args.time ?? 1_700_000_000_000,
    }),
  );
}

/** Resolves or rejects like `p`, or rejects after `ms` (a replay that never ends). */
function within<T>(ms: number, p: Promise<T>, what = "the replay"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const total = async (bus: Bus, topic: string) =>
  [...(await bus.offsets(topic)).values()].reduce((n, o) => n + Number(o.high), 0);

/** Every retained message of a topic, read by an ephemeral group that is deleted afterwards. */
async function readAll(bus: Bus, topic: string): Promise<InMessage[]> {
  const last = new Map<number, number>();
  for (const [p, o] of await bus.offsets(topic)) if (o.high !== o.low) last.set(p, Number(o.high) - 1);
  const got: InMessage[] = [];
  if (last.size === 0) return got;
  const groupId = uniquePrefix("read-all");
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sub = await bus.subscribe({
    groupId,
    topics: [topic],
    ephemeral: true,
    handler: async (batch) => {
      got.push(...batch);
      for (const m of batch) if (Number(m.offset) >= (last.get(m.partition) ?? Infinity)) last.delete(m.partition);
      if (last.size === 0) done();
    },
  });
  await within(30_000, finished, `reading ${topic}`);
  await sub.stop();
  await bus.deleteGroup(groupId);
  return got;
}

/** An ingestor whose every call takes `delayMs` longer. */
class SlowIngestor extends Ingestor {
  private readonly delayMs: number;
  constructor(bus: Bus, topics: TopicNames, delayMs: number) {
    super({ bus, topics, metrics: new Metrics() });
    this.delayMs = delayMs;
  }
  override async ingest(pieces: readonly Piece[], opts: IngestOptions): Promise<IngestResult> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return super.ingest(pieces, opts);
  }
}

type Infra = { bus: Bus; state: StateStore };
const implementations: Array<[string, () => Promise<Infra>]> = [
  ["memory", async () => ({ bus: new MemoryBus(), state: new MemoryState() })],
  [
    "kafka",
    async () => {
      const bus = new KafkaBus({ brokers: await requireKafka(), clientId: "replay-test", log: silentLogger });
      const state = new RedisState(await requireRedis());
      await state.ready();
      return { bus, state };
    },
  ],
];

for (const [name, make] of implementations) {
  describe(`DLQ replay: ${name}`, () => {
    const made: Infra[] = [];
    after(async () => {
      for (const m of made) {
        await m.bus.close();
        await m.state.close();
      }
    });

    async function setup(partitions = 2) {
      const infra = await make();
      made.push(infra);
      const prefix = uniquePrefix("replay");
      const topics = topicNames(prefix);
      await infra.bus.ensureTopics([topics.normalized, topics.dlq].map((t) => ({ name: t, partitions })));
      const ingestor = new Ingestor({ bus: infra.bus, topics, metrics: new Metrics(), sourceFormats: BINDING });
      const base = { bus: infra.bus, topics, ingestor, state: infra.state, groupId: `${prefix}.dlq-replay` };
      return {
        ...infra,
        prefix,
        topics,
        base,
        park: (values: readonly string[]) =>
          infra.bus.publish(
            topics.dlq,
            values.map((value) => ({ key: "ids", value })),
          ),
        replay: (o: Partial<ReplayOptions> = {}): Promise<ReplayReport> => within(60_000, replayDlq({ ...base, ...o })),
      };
    }

    test("the source→format binding applies: a forged detection stays failing, is not published nor dead-lettered again", async () => {
      const t = await setup();
      await t.park([
        parked({ source: "ids", original: CROWDSTRIKE, code: "RIPOSTE_FORMAT_NOT_ALLOWED" }),
        parked({ source: "ids", original: SURICATA }),
      ]);
      assert.deepEqual(await t.replay(), {
        scanned: 2,
        replayed: 1,
        still_failing: { RIPOSTE_FORMAT_NOT_ALLOWED: 1 },
        skipped_other_stages: 0,
        unreadable: 0,
      });
      const normalized = await readAll(t.bus, t.topics.normalized);
      assert.deepEqual(
        normalized.map(
          (m) => (JSON.parse(m.value.toString()) as { metadata: { product: { name: string } } }).metadata.product.name,
        ),
        ["Suricata"],
        "only the IDS alert is published",
      );
      assert.equal(await total(t.bus, t.topics.dlq), 2, "nothing dead-lettered again");
    });

    test("the format the sender asked for is applied again", async () => {
      const t = await setup();
      await t.park([
        // "siem" has no format binding: only the requested format stands in the way.
        parked({ source: "siem", original: SURICATA, requestedFormat: "okta" }),
        parked({ source: "siem", original: SURICATA, requestedFormat: "suricata" }),
      ]);
      const report = await t.replay();
      assert.equal(report.scanned, 2);
      assert.equal(report.replayed, 1, "the record forced to okta is not auto-detected as Suricata");
      assert.equal(
        Object.values(report.still_failing).reduce((a, b) => a + b, 0),
        1,
        JSON.stringify(report),
      );
      assert.equal(await total(t.bus, t.topics.normalized), 1);
    });

    test("each record is normalized once", async (ctx) => {
      const t = await setup();
      const suricata = NORMALIZERS.find((n) => n.format === "suricata_eve");
      assert.ok(suricata);
      const normalize = ctx.mock.method(suricata, "normalize");
      await t.park([parked({ source: "ids", original: SURICATA })]);
      assert.equal((await t.replay()).replayed, 1);
      assert.equal(normalize.mock.callCount(), 1);
    });

    test("a record that is not a JSON DLQ record is counted as unreadable and skipped; the replay ends", async () => {
      const t = await setup(1);
      await t.park(["not json {", JSON.stringify({ hello: "world" }), parked({ source: "ids", original: SURICATA })]);
      assert.deepEqual(await t.replay(), {
        scanned: 3,
        replayed: 1,
        still_failing: {},
        skipped_other_stages: 0,
        unreadable: 2,
      });
      assert.equal((await t.replay()).scanned, 0, "a second plain replay starts after them");
    });

    test("one replay at a time: another one is refused with RIPOSTE_REPLAY_BUSY (409) while the lock is renewed, and runs after", async () => {
      const t = await setup();
      await t.park([1, 2, 3].map((i) => parked({ source: "ids", original: SURICATA, time: i })));
      const slow = new SlowIngestor(t.bus, t.topics, 500);
      const [first, second] = await Promise.allSettled([
        t.replay({ ingestor: slow, lockTtlMs: 300 }),
        (async () => {
          // Well past the lock's TTL: only renewal keeps it.
          await new Promise((r) => setTimeout(r, 900));
          return t.replay({ dryRun: true });
        })(),
      ]);
      assert.equal(first.status, "fulfilled", String((first as PromiseRejectedResult).reason));
      assert.equal(first.value.replayed, 3);
      assert.equal(second.status, "rejected");
      const busy = second.reason as RiposteError;
      assert.equal(busy.code, "RIPOSTE_REPLAY_BUSY");
      assert.equal(busy.status, 409);
      const together = await Promise.allSettled([t.replay({ dryRun: true }), t.replay({ dryRun: true })]);
      assert.deepEqual(together.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
      assert.equal((await t.replay({ dryRun: true })).scanned, 3, "the lock is released after each replay");
    });

    test("dry and filtered runs take nothing away and leave no consumer group behind", async () => {
      const t = await setup(1);
      await t.park(Array.from({ length: 2_500 }, (_, i) => parked({ source: "ids", original: `{"n":${i}}` })));
      const deleted: string[] = [];
      const bus: Bus = Object.assign(Object.create(t.bus) as Bus, {
        deleteGroup: async (g: string) => {
          deleted.push(g);
          await t.bus.deleteGroup(g);
        },
      });
      assert.equal((await t.replay({ bus, dryRun: true })).scanned, 2_500);
      assert.equal((await t.replay({ bus, code: "RIPOSTE_SCHEMA_INVALID" })).scanned, 2_500);
      assert.deepEqual(
        (await t.replay({ bus })).still_failing,
        { RIPOSTE_FORMAT_UNKNOWN: 2_500 },
        "the plain replay still sees every record",
      );
      assert.equal(deleted.length, 2, "both one-off groups are deleted");
      assert.ok(deleted.every((g) => g.startsWith(`${t.base.groupId}.`)));
      if (t.bus.kind === "kafka") {
        const admin = new Kafka({
          clientId: "replay-admin",
          brokers: await requireKafka(),
          logLevel: logLevel.NOTHING,
        }).admin();
        await admin.connect();
        try {
          const { groups } = await admin.listGroups();
          assert.deepEqual(
            groups.map((g) => g.groupId).filter((g) => g.startsWith(`${t.base.groupId}.`)),
            [],
          );
        } finally {
          await admin.disconnect();
        }
      }
    });

    test("the API-only service replays with the configured source→format binding; a concurrent replay gets 409", async () => {
      const infra = await make();
      made.push(infra);
      const prefix = uniquePrefix("replay-api");
      const config = loadConfig(
        {
          RIPOSTE_TOPIC_PREFIX: prefix,
          RIPOSTE_TOPIC_PARTITIONS: "2",
          RIPOSTE_API_TOKEN: TOKEN,
          RIPOSTE_SOURCE_FORMATS: "ids=suricata_eve",
          ...(infra.bus.kind === "kafka" ? { KAFKA_BROKERS: (await requireKafka()).join(",") } : {}),
        },
        CONNECTORS,
      );
      const running = await startServices({ config, services: ["api"], log: silentLogger, listen: false, ...infra });
      try {
        const topics = topicNames(prefix);
        // Enough records that the first replay is still running when the second request comes.
        await infra.bus.publish(topics.dlq, [
          { key: "ids", value: parked({ source: "ids", original: CROWDSTRIKE, code: "RIPOSTE_FORMAT_NOT_ALLOWED" }) },
          ...Array.from({ length: 500 }, (_, i) => ({
            key: "ids",
            value: parked({ source: "ids", original: `{"n":${i}}` }),
          })),
        ]);
        const post = () =>
          running.api?.inject({
            method: "POST",
            url: "/v1/dlq/replay",
            payload: "{}",
            headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          });
        const answers = await Promise.all([post(), post()]);
        const statuses = answers.map((a) => a?.statusCode).sort();
        assert.deepEqual(statuses, [200, 409], answers.map((a) => a?.body).join("\n"));
        const ok = answers.find((a) => a?.statusCode === 200);
        assert.equal(ok?.json<ReplayReport>().still_failing["RIPOSTE_FORMAT_NOT_ALLOWED"], 1);
        const busy = answers.find((a) => a?.statusCode === 409);
        assert.equal(busy?.json<{ error: { code: string } }>().error.code, "RIPOSTE_REPLAY_BUSY");
        assert.equal(await total(infra.bus, topics.normalized), 0, "the forged detection is not published");
      } finally {
        await running.stop();
      }
    });
  });
}

test("memory: after replays (plain, dry, filtered) the DLQ is still held to its retention caps", async () => {
  const bus = new MemoryBus();
  const topics = topicNames("retained");
  await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const base = {
    bus,
    topics,
    state: new MemoryState(),
    ingestor: new Ingestor({ bus, topics, metrics: new Metrics() }),
    groupId: "retained.dlq-replay",
  };
  await bus.publish(topics.dlq, [{ key: "ids", value: parked({ source: "ids", original: SURICATA }) }]);
  await replayDlq({ ...base, dryRun: true });
  await replayDlq({ ...base, code: "RIPOSTE_FORMAT_UNKNOWN" });
  await replayDlq(base);
  for (let i = 0; i < 30; i++) {
    await bus.publish(
      topics.dlq,
      Array.from({ length: 1_000 }, () => ({ key: "ids", value: "x" })),
    );
  }
  const kept = (await readAll(bus, topics.dlq)).length;
  assert.ok(kept <= RETAIN_RECORDS, `the DLQ keeps ${kept} records`);
  await bus.close();
});
