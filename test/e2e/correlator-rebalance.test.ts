/**
 * Correlation windows across a consumer-group rebalance, on real Kafka and Redis: two correlator instances in one
 * group, one stopped mid-stream (its windows half full), decide exactly what a single instance decides. Each
 * instance has its own Kafka client and Redis connection, as two processes would.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { Redis } from "ioredis";
import type { Decision, NormalizedEvent } from "../../schemas/index.ts";
import { kafkaBus, type Bus, type InMessage, type Subscription } from "../../services/shared/bus/index.ts";
import { KAFKA_CLIENTS, topicNames, type KafkaClient } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { Metrics } from "../../services/shared/metrics.ts";
import { RedisState } from "../../services/shared/state/index.ts";
import { Correlator, RuleSet, loadLists, loadRules } from "../../services/correlator/index.ts";
import { cef, entra, okta, suricata } from "../../services/correlator/testing.ts";
import { eventually, requireKafka, requireRedis, uniquePrefix } from "../support/env.ts";

const PARTITIONS = 4;

/**
 * The stream, in two halves. Every correlation here groups by the partition key (the user of a sign-in, the source
 * address of a network alert), so each group's window lives on one partition and moves with it in a rebalance.
 */
function stream(): [NormalizedEvent[], NormalizedEvent[]] {
  const first: NormalizedEvent[] = [];
  const second: NormalizedEvent[] = [];
  for (let u = 0; u < 8; u++) {
    const user = `rebalance${u}@example.com`;
    // One address per user: a password-spray window (grouped by address) would span partitions.
    const ip = `203.0.113.${u + 1}`;
    const fails = u % 4 === 3 ? 4 : 5; // every fourth user fails only 4 times: no decision
    for (let i = 0; i < fails; i++)
      (i < 3 ? first : second).push((i % 2 ? entra : okta)({ user, ok: false, minute: u + i, ip }));
    second.push(okta({ user, ok: true, minute: u + 6, ip }));
  }
  for (let n = 0; n < 6; n++) {
    const ip = `198.51.100.${60 + n}`;
    first.push(suricata(ip, n));
    if (n % 3 !== 2) second.push(cef(ip, n + 10));
  }
  return [first, second];
}

/** Built once: both runs decide about the very same events. */
const STREAM = stream();

/** A decision without what differs between runs by design (wall-clock time, trace id). */
const comparable = (d: Decision) => JSON.stringify({ ...d, time: 0, trace_id: undefined });

interface Instance {
  readonly bus: Bus;
  readonly state: RedisState;
  readonly sub: Subscription;
  handled: number;
}

async function runStream(instances: number, client: KafkaClient): Promise<{ decisions: string[]; handled: number[] }> {
  const brokers = await requireKafka();
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("rebalance");
  const topics = topicNames(prefix);
  const lists = await loadLists("rules");
  const rules = new RuleSet(await loadRules("rules", lists), lists);
  const [first, second] = STREAM;
  const total = first.length + second.length;
  const admin = kafkaBus(client, { brokers, clientId: `${prefix}-admin`, log: silentLogger });
  await admin.ensureTopics([
    { name: topics.normalized, partitions: PARTITIONS },
    { name: topics.decisions, partitions: 1 },
    { name: topics.dlq, partitions: 1 },
  ]);
  const decided = new Map<string, Set<string>>();
  const observer = await admin.subscribe({
    groupId: `${prefix}-observer`,
    topics: [topics.decisions],
    handler: async (batch) => {
      for (const m of batch) {
        const d = JSON.parse(m.value.toString()) as Decision;
        const set = decided.get(d.alert.uid) ?? new Set<string>();
        set.add(comparable(d));
        decided.set(d.alert.uid, set);
      }
    },
  });
  const group = `${prefix}-correlator`;
  const started: Instance[] = [];
  const start = async (i: number) => {
    const bus = kafkaBus(client, {
      brokers,
      clientId: `${prefix}-c${i}`,
      log: silentLogger,
      sessionTimeoutMs: 10_000,
    });
    const state = new RedisState(redisUrl);
    await state.ready();
    const correlator = new Correlator({
      bus,
      state,
      topics,
      rules,
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: prefix,
      dedupWindowMs: 86_400_000,
      latenessMs: 300_000,
    });
    const inst = { bus, state, handled: 0 } as { -readonly [K in keyof Instance]: Instance[K] };
    inst.sub = await bus.subscribe({
      groupId: group,
      topics: [topics.normalized],
      maxBatch: 5,
      handler: async (batch: readonly InMessage[]) => {
        await correlator.handle(batch);
        inst.handled += batch.length;
      },
    });
    started.push(inst);
  };
  const send = (events: readonly NormalizedEvent[]) =>
    admin.publish(
      topics.normalized,
      events.map((e) => ({ key: e.riposte.entity_key, value: JSON.stringify(e) })),
    );
  try {
    for (let i = 0; i < instances; i++) await start(i);
    await send(first);
    // Mid-stream: once part of the first half is decided, the first instance leaves; its windows are half full.
    await eventually(() => decided.size >= first.length / 2, "half of the first half decided", 60_000);
    if (instances > 1) {
      const gone = started[0] as Instance;
      await gone.sub.stop();
      await gone.bus.close();
    }
    await send(second);
    await eventually(() => decided.size >= total, `decisions about all ${total} events`, 90_000);
    await new Promise((r) => setTimeout(r, 1_000));
    return { decisions: [...decided.values()].flatMap((s) => [...s]).sort(), handled: started.map((s) => s.handled) };
  } finally {
    await observer.stop();
    for (const [i, s] of started.entries()) {
      if (i > 0 || instances === 1) {
        await s.sub.stop();
        await s.bus.close();
      }
      await s.state.close();
    }
    await cleanup(brokers, redisUrl, prefix, Object.values(topics));
    await admin.close();
  }
}

async function cleanup(brokers: string[], redisUrl: string, prefix: string, topics: string[]): Promise<void> {
  const kafka = new Kafka({ clientId: `${prefix}-cleanup`, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  const redis = new Redis(redisUrl);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  await redis.quit();
}

for (const client of KAFKA_CLIENTS)
  test(`two correlators in one group, one stopped mid-stream, decide what a single correlator decides (${client})`, async () => {
    const single = await runStream(1, client);
    const pair = await runStream(2, client);
    const responds = (ds: string[]) => ds.filter((d) => d.includes('"outcome":"respond"'));
    // 6 brute-force users revoked, 4 addresses seen by two sensors blocked, 8 first sign-ins from a country notified.
    assert.equal(responds(single.decisions).length, 18, responds(single.decisions).join("\n"));
    assert.ok(
      pair.handled.every((n) => n > 0),
      `both instances handled events before the stop: ${pair.handled.join(", ")}`,
    );
    assert.deepEqual(pair.decisions, single.decisions);
  });
