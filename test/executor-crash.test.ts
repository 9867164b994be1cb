/**
 * Effectively once across a crash: an executor process is killed with SIGKILL after the vendor received (and
 * acted on) its contain call and before the executor stored the outcome. Real child process, real Redis; the
 * contain calls are counted at the HTTP fake.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { targetKey, type Decision } from "../schemas/index.ts";
import { MemoryBus } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { RedisState } from "../services/shared/state/index.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { Executor } from "../services/executor/executor.ts";
import { startFalconFake, FALCON_CLIENT_ID, FALCON_CLIENT_SECRET } from "./fakes/crowdstrike.ts";
import { CRASH_PLAYBOOK } from "./fakes/executor-child.ts";
import { exited } from "./infra/proc.ts";
import { eventually, requireRedis, uniquePrefix } from "./support/env.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const CHILD = fileURLToPath(new URL("./fakes/executor-child.ts", import.meta.url));

const edr = await startFalconFake({ "fin-ws-042": DEVICE });
after(() => edr.close());

test("kill -9 between the vendor call and the completion: exactly one contain call", async () => {
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("crash");
  const decision: Decision = {
    id: `${prefix}-d1`,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: "a-1",
      fingerprint: "f-1",
      entity_key: "host:fin-ws-042",
      class_uid: 2004,
      title: "t",
      source: "s",
      severity_id: 5,
      time: 1,
    },
    rule: { id: "r", version: 1, hash: "h", name: "r" },
    playbook: "isolate-host",
    target: { type: "host", value: "fin-ws-042" },
    params: {},
    approval: "none",
  };
  // The vendor acts at once but holds its answer: the child is killed while waiting for it.
  edr.holdActionsMs = 60_000;
  const child = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      RIPOSTE_TEST_PREFIX: prefix,
      RIPOSTE_TEST_FALCON_URL: edr.url,
      RIPOSTE_TEST_DECISION: JSON.stringify(decision),
      RIPOSTE_TEST_CLAIM_TTL_MS: "1000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  try {
    await eventually(() => edr.actions().length === 1, "the child's contain call", 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; child output: ${out}`);
    });
    assert.ok(edr.contained.has(DEVICE), "the vendor acted");
    child.kill("SIGKILL");
    await exited(child);
    assert.equal(child.signalCode, "SIGKILL");
    assert.ok(!out.includes('"status"'), "the child recorded no outcome");
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  edr.holdActionsMs = 0;

  // The decision is redelivered to another executor on the same Redis.
  const topics = topicNames(prefix);
  const bus = new MemoryBus();
  await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const state = new RedisState(redisUrl);
  await state.ready();
  const records: Array<Record<string, unknown>> = [];
  const publish = bus.publish.bind(bus);
  bus.publish = async (topic, messages) => {
    if (topic === topics.actions)
      for (const m of messages) records.push(JSON.parse(String(m.value)) as Record<string, unknown>);
    return publish(topic, messages);
  };
  try {
    const executor = new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[CRASH_PLAYBOOK.id, CRASH_PLAYBOOK]]),
      connectors: CONNECTORS,
      connectorConfig: {
        crowdstrike: {
          url: edr.url,
          credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
          dryRun: false,
        },
      },
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: prefix,
      claimTtlMs: 1_000,
    });
    const m = {
      topic: topics.decisions,
      partition: 0,
      offset: "0",
      key: targetKey(decision.target ?? { type: "host", value: "" }),
      value: Buffer.from(JSON.stringify(decision)),
      headers: {},
      timestamp: 0,
    };
    const started = Date.now();
    let held = 0;
    await eventually(
      () =>
        executor.handle([m]).then(
          () => true,
          () => (held++, false),
        ),
      "the redelivery to get past the dead executor's claim",
      15_000,
    );
    assert.ok(held >= 1, "the dead executor's claim held the action at first");
    assert.ok(Date.now() - started < 5_000, "freed within a few claim TTLs, not the step's worst case");
    assert.equal(edr.actions().length, 1, "exactly one contain call reached the vendor");
    assert.equal(records.length, 1);
    assert.equal(records[0]?.["status"], "succeeded");
    const response = records[0]?.["response"] as Record<string, unknown>;
    assert.equal(response["verified"], true, "resolved by asking the vendor");
    assert.equal(response["status"], "contained");
    // A replay after that changes nothing.
    await executor.handle([m]);
    assert.equal(edr.actions().length, 1);
    assert.deepEqual(records[1], records[0]);
  } finally {
    await state.close();
    await bus.close();
  }
});
