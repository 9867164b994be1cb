/**
 * Containment leases on real Redis, real time: a short lease ends and its lift reaches the vendor once, also when
 * the executor that took it is gone and another one (a restart) runs the scheduler, and when two executors run it
 * at once. Lift calls are counted at the CrowdStrike fake.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { PlaybookFile, targetKey, type Decision } from "../schemas/index.ts";
import { MemoryBus } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { RedisState } from "../services/shared/state/index.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { Executor } from "../services/executor/executor.ts";
import { Guards, defaultGuardSettings } from "../services/executor/guards.ts";
import { startFalconFake, FALCON_CLIENT_ID, FALCON_CLIENT_SECRET } from "./fakes/crowdstrike.ts";
import { eventually, requireRedis, uniquePrefix } from "./support/env.ts";

const HOSTS = ["web-01", "web-02", "web-03", "web-04", "web-05"];
const device = (i: number) => `${String(i).padStart(2, "0")}`.repeat(16);
const edr = await startFalconFake(Object.fromEntries(HOSTS.map((h, i) => [h, device(i)])));
after(() => edr.close());

const playbook = (ttl: string) =>
  PlaybookFile.parse({
    id: "isolate-host",
    version: 1,
    name: "Isolate",
    steps: [
      {
        id: "contain",
        connector: "crowdstrike",
        action: "contain_host",
        params: { host: "{{target.value}}" },
        timeout: "5s",
        retry: { max: 0, backoff: "10ms" },
        lease: { ttl },
      },
    ],
  });

function decision(prefix: string, host: string): Decision {
  return {
    id: `${prefix}-${host}`,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `a-${host}`,
      fingerprint: "f",
      entity_key: `host:${host}`,
      class_uid: 2004,
      title: "t",
      source: "s",
      severity_id: 4,
      time: 1,
    },
    rule: { id: "r", version: 1, hash: "h", name: "r" },
    playbook: "isolate-host",
    target: { type: "host", value: host },
    params: {},
    approval: "none",
  };
}

interface Node {
  readonly executor: Executor;
  readonly state: RedisState;
  readonly bus: MemoryBus;
  readonly records: Array<Record<string, unknown>>;
}

async function node(prefix: string, ttl: string): Promise<Node> {
  const state = new RedisState(await requireRedis());
  await state.ready();
  const topics = topicNames(prefix);
  const bus = new MemoryBus();
  await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const records: Array<Record<string, unknown>> = [];
  const publish = bus.publish.bind(bus);
  bus.publish = async (topic, messages) => {
    if (topic === topics.actions)
      for (const m of messages) records.push(JSON.parse(String(m.value)) as Record<string, unknown>);
    return publish(topic, messages);
  };
  const pb = playbook(ttl);
  const executor = new Executor({
    bus,
    state,
    topics,
    playbooks: new Map([[pb.id, pb]]),
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
    guards: new Guards({ state, prefix, settings: defaultGuardSettings({ budgets: [] }) }),
    leaseSweepMs: 20,
  });
  return { executor, state, bus, records };
}

async function close(n: Node): Promise<void> {
  await n.executor.stop();
  await n.state.close();
  await n.bus.close();
}

const contain = (n: Node, prefix: string, host: string) => {
  const d = decision(prefix, host);
  return n.executor.handle([
    {
      topic: "decisions",
      partition: 0,
      offset: "0",
      key: targetKey(d.target ?? { type: "host", value: host }),
      value: Buffer.from(JSON.stringify(d)),
      headers: {},
      timestamp: 0,
    },
  ]);
};

/** The contain and lift requests that reached the vendor for one device. */
const calls = (id: string, action: string) =>
  edr
    .actions()
    .filter(
      (r) =>
        r.query.get("action_name") === action && (JSON.parse(r.body || "{}") as { ids?: string[] }).ids?.[0] === id,
    ).length;

test("a short lease ends and its lift reaches the vendor once", async () => {
  const prefix = uniquePrefix("lease-short");
  const n = await node(prefix, "300ms");
  try {
    await contain(n, prefix, "web-01");
    assert.equal(calls(device(0), "contain"), 1);
    assert.equal((await n.executor.leases.list(0, 10)).length, 1);
    n.executor.start();
    await eventually(() => calls(device(0), "lift_containment") === 1, "the lift at the lease's end", 10_000);
    await eventually(async () => (await n.executor.leases.list(0, 10)).length === 0, "the lease forgotten", 5_000);
    assert.equal(await n.executor.leaseScheduler.sweep(), 0, "nothing left due");
    assert.equal(calls(device(0), "lift_containment"), 1, "lifted once");
    const lifted = n.records.filter((r) => r["action"] === "lift_containment");
    assert.equal(lifted.length, 1);
    assert.equal(lifted[0]?.["status"], "succeeded");
  } finally {
    await close(n);
  }
});

test("the executor that took the lease is gone: another one on the same Redis lifts it once", async () => {
  const prefix = uniquePrefix("lease-restart");
  const first = await node(prefix, "300ms");
  await contain(first, prefix, "web-02");
  const [lease] = await first.executor.leases.list(0, 10);
  assert.ok(lease, "the lease is in Redis");
  await close(first);
  assert.equal(calls(device(1), "lift_containment"), 0);
  const second = await node(prefix, "300ms");
  try {
    assert.equal((await second.executor.leases.get(lease.id))?.status, "active", "the new process sees it");
    second.executor.start();
    await eventually(() => calls(device(1), "lift_containment") === 1, "the lift by the restarted executor", 10_000);
    await eventually(async () => (await second.executor.leases.get(lease.id)) === undefined, "forgotten", 5_000);
    assert.equal(calls(device(1), "lift_containment"), 1);
    assert.equal(second.records.filter((r) => r["lease_id"] === lease.id).length, 1);
  } finally {
    await close(second);
  }
});

test("two executors run the scheduler on the same Redis: each lease is lifted exactly once", async () => {
  const prefix = uniquePrefix("lease-two");
  const a = await node(prefix, "400ms");
  const b = await node(prefix, "400ms");
  const hosts = HOSTS.slice(2);
  try {
    for (const [i, h] of hosts.entries()) await contain(i % 2 === 0 ? a : b, prefix, h);
    a.executor.start();
    b.executor.start();
    // Both also sweep by hand at the same time, on top of their timers.
    await eventually(
      async () => {
        await Promise.all([a.executor.leaseScheduler.sweep(), b.executor.leaseScheduler.sweep()]);
        return hosts.every((_, i) => calls(device(i + 2), "lift_containment") >= 1);
      },
      "every lease lifted",
      10_000,
    );
    await eventually(async () => (await a.executor.leases.list(0, 10)).length === 0, "all forgotten", 5_000);
    await Promise.all([a.executor.leaseScheduler.sweep(), b.executor.leaseScheduler.sweep()]);
    for (const [i] of hosts.entries()) {
      assert.equal(calls(device(i + 2), "contain"), 1);
      assert.equal(calls(device(i + 2), "lift_containment"), 1, `${hosts[i]} lifted exactly once`);
    }
    const lifted = [...a.records, ...b.records].filter((r) => r["action"] === "lift_containment");
    assert.equal(lifted.length, hosts.length, "one audit record per lift");
  } finally {
    await close(a);
    await close(b);
  }
});
