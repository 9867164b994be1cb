/**
 * Effectively once across a crash: an executor process is killed with SIGKILL after the vendor received (and
 * acted on) its contain call and before the executor stored the outcome. Real child process, real Redis; the
 * contain calls are counted at the HTTP fake.
 *
 * At run level: a child executor is killed in the middle of a three-step run (look the host up, contain it, tell
 * Slack), once after the vendor answered the containment and before its outcome was stored, once between the
 * containment and the message. Another executor's reaper takes the run over when the dead one's heartbeat stops
 * and finishes it; GET /v1/runs/{id} shows it ended; the fakes count exactly one call per action, and the pending
 * containment is resolved by asking the vendor (get the device: already contained) instead of sending it again.
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
import { PlaybookFile } from "../schemas/index.ts";
import { buildApi } from "../services/api/app.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { Executor } from "../services/executor/executor.ts";
import { RunStore, runIdOf } from "../services/executor/runs.ts";
import { startFalconFake, FALCON_CLIENT_ID, FALCON_CLIENT_SECRET } from "./fakes/crowdstrike.ts";
import { startSlackFake, SLACK_CHANNEL, SLACK_TOKEN } from "./fakes/slack.ts";
import { CRASH_PLAYBOOK } from "./fakes/executor-child.ts";
import { exited } from "./infra/proc.ts";
import { eventually, requireRedis, uniquePrefix } from "./support/env.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const CHILD = fileURLToPath(new URL("./fakes/executor-child.ts", import.meta.url));

const edr = await startFalconFake({ "fin-ws-042": DEVICE });
after(() => edr.close());
const slack = await startSlackFake();
after(() => slack.close());

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

/** Three steps: the lookup, the containment of the device it found, the SOC channel told. */
const RUN_PLAYBOOK = PlaybookFile.parse({
  id: "isolate-and-tell",
  version: 1,
  name: "Isolate and tell",
  steps: [
    { id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" } },
    {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      needs: ["lookup"],
      params: { device_id: "{{steps.lookup.output.device_id}}" },
      timeout: "30s",
      retry: { max: 0, backoff: "10ms" },
    },
    {
      id: "notify",
      connector: "slack",
      action: "post_message",
      params: { title: "Contained {{target.value}}", decision: "{{decision.id}}" },
      timeout: "30s",
    },
  ],
});

const runDecision = (id: string): Decision => ({
  id,
  outcome: "respond",
  time: Date.now(),
  alert: {
    uid: `a-${id}`,
    fingerprint: `f-${id}`,
    entity_key: "host:fin-ws-042",
    class_uid: 2004,
    title: "t",
    source: "s",
    severity_id: 5,
    time: 1,
  },
  rule: { id: "r", version: 1, hash: "h", name: "r" },
  playbook: RUN_PLAYBOOK.id,
  target: { type: "host", value: "fin-ws-042" },
  params: {},
  approval: "none",
});

const VIEWER = "crash-viewer-token-0123456789";

/**
 * Runs a decision in a child executor that stops at `stopAt` and is killed there with SIGKILL; then an executor in
 * this process, its reaper running, takes the run over. Returns the run as GET /v1/runs/{id} shows it once it
 * ended, the audit records the child and the survivor published, and the vendor calls made in each phase.
 */
async function killMidRun(stopAt: string) {
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("runcrash");
  const decision = runDecision(`${prefix}-d1`);
  edr.requests.length = 0;
  edr.contained.clear();
  slack.requests.length = 0;
  const child = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      RIPOSTE_TEST_PREFIX: prefix,
      RIPOSTE_TEST_FALCON_URL: edr.url,
      RIPOSTE_TEST_SLACK_URL: slack.api,
      RIPOSTE_TEST_PLAYBOOK: JSON.stringify(RUN_PLAYBOOK),
      RIPOSTE_TEST_DECISION: JSON.stringify(decision),
      RIPOSTE_TEST_CLAIM_TTL_MS: "1000",
      RIPOSTE_TEST_STOP_AT: stopAt,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  try {
    await eventually(() => err.includes(`STOPPED ${stopAt}`), `the child to stop at ${stopAt}`, 30_000).catch(
      (e: unknown) => {
        throw new Error(`${String(e)}; child output: ${out}${err}`);
      },
    );
    child.kill("SIGKILL");
    await exited(child);
    assert.equal(child.signalCode, "SIGKILL");
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  const byChild = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const before = { contain: edr.actions().length, posts: slack.posts().length };

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
  const api = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: "crash-admin-token-0123456789",
    apiTokens: [{ name: "vic", role: "viewer", token: VIEWER }],
    sourceTokens: {},
    maxBodyBytes: 1024,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    runs: new RunStore({ state, prefix }),
  });
  const survivor = new Executor({
    bus,
    state,
    topics,
    playbooks: new Map([[RUN_PLAYBOOK.id, RUN_PLAYBOOK]]),
    connectors: CONNECTORS,
    connectorConfig: {
      crowdstrike: {
        url: edr.url,
        credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
        dryRun: false,
      },
      slack: { url: slack.api, credentials: { bot_token: SLACK_TOKEN, channel: SLACK_CHANNEL }, dryRun: false },
    },
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: prefix,
    claimTtlMs: 1_000,
    reapMs: 200,
  });
  const runId = runIdOf(decision.id);
  const shown = async () => {
    const res = await api.inject({
      method: "GET",
      url: `/v1/runs/${runId}`,
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
  try {
    const dead = await shown();
    assert.equal(dead.status, 200);
    assert.equal(dead.body["status"], "running", "the dead executor left its run running");
    // No decision is redelivered here: the reaper alone finds the run once the dead owner's heartbeat stopped.
    survivor.start();
    let run: Record<string, unknown> = {};
    await eventually(
      async () => {
        run = (await shown()).body;
        return run["status"] !== "running";
      },
      () => `the run taken over and ended (now ${JSON.stringify(run).slice(0, 400)})`,
      20_000,
    );
    return { run, byChild, records, before, decision };
  } finally {
    await survivor.stop();
    await api.close();
    await state.close();
    await bus.close();
  }
}

type StepView = { state: string; status: string; output?: Record<string, unknown> };

test("kill -9 after the vendor answered a step, before its outcome was stored: the run is taken over, one call per action", async () => {
  const { run, byChild, records, before } = await killMidRun("complete:contain");
  assert.deepEqual(before, { contain: 1, posts: 0 }, "the child contained the host and was killed before Slack");
  assert.ok(edr.contained.has(DEVICE));
  assert.deepEqual(
    byChild.map((r) => r["step"]),
    ["lookup"],
    "the child recorded the lookup, not the containment",
  );
  assert.equal(run["status"], "succeeded");
  assert.equal(run["takeovers"], 1);
  const steps = run["steps"] as Record<string, StepView>;
  assert.deepEqual(Object.fromEntries(Object.entries(steps).map(([id, s]) => [id, s.status])), {
    lookup: "succeeded",
    contain: "succeeded",
    notify: "succeeded",
  });
  assert.equal(steps["contain"]?.output?.["verified"], true, "the pending claim was resolved by asking the vendor");
  assert.equal(steps["contain"]?.output?.["status"], "contained");
  assert.equal(edr.actions().length, 1, "exactly one contain call");
  assert.equal(slack.posts().length, 1, "exactly one Slack message");
  assert.deepEqual(
    records.map((r) => [r["step"], r["status"]]),
    [
      ["contain", "succeeded"],
      ["notify", "succeeded"],
    ],
    "the survivor ran the rest; the lookup was not run again",
  );
});

test("kill -9 between two steps: the run is taken over from its state, one call per action", async () => {
  const { run, byChild, records, before } = await killMidRun("begin:notify");
  assert.deepEqual(before, { contain: 1, posts: 0 });
  assert.deepEqual(
    byChild.map((r) => [r["step"], r["status"]]),
    [
      ["lookup", "succeeded"],
      ["contain", "succeeded"],
    ],
  );
  assert.equal(run["status"], "succeeded");
  assert.equal(run["takeovers"], 1);
  const steps = run["steps"] as Record<string, StepView>;
  assert.equal(steps["contain"]?.output?.["verified"], undefined, "done before the crash: nothing to verify");
  assert.equal(steps["notify"]?.status, "succeeded");
  assert.equal(edr.actions().length, 1, "the containment was not sent again");
  assert.equal(slack.posts().length, 1, "exactly one Slack message");
  assert.deepEqual(
    records.filter((r) => r["step"] === "notify").map((r) => r["status"]),
    ["succeeded"],
  );
});
