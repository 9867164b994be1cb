/**
 * Approvals on real Kafka and Redis, through the services as `riposte run` composes them: a gated step waits
 * (GET /v1/approvals), a viewer cannot approve, an approver can (audited on <prefix>.audit), and the step runs
 * exactly once with two executors; a pending approval survives its executor's restart.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Decision } from "../schemas/index.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { ApprovalStore, type PendingApproval } from "../services/executor/approvals.ts";
import { Executor } from "../services/executor/executor.ts";
import { PlaybookFile, targetKey } from "../schemas/index.ts";
import { MemoryBus, kafkaBus, type InMessage } from "../services/shared/bus/index.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { RedisState } from "../services/shared/state/index.ts";
import { parse as parseYaml } from "yaml";
import { loadConfig, topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { startServices, type Running, type ServiceName } from "../services/runtime.ts";
import { startFalconFake, FALCON_CLIENT_ID, FALCON_CLIENT_SECRET } from "./fakes/crowdstrike.ts";
import { eventually, requireKafka, requireRedis, uniquePrefix } from "./support/env.ts";

const ADMIN = "approvals-admin-token-0123456789";
const APPROVER = "approvals-approver-token-012345";
const VIEWER = "approvals-viewer-token-01234567";

const PLAYBOOK = `id: isolate-host
version: 1
name: Isolate after approval
steps:
  - id: contain
    connector: crowdstrike
    action: contain_host
    params:
      host: "{{target.value}}"
    timeout: 5s
    approval:
      roles: [approver]
      expires: 1h
      on_expiry: deny
`;

function decision(id: string, host: string): Decision {
  return {
    id,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `a-${id}`,
      fingerprint: `f-${id}`,
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

test("approvals on Kafka and Redis: approved once with two executors (one vendor call), audited; survives a restart", async () => {
  const brokers = await requireKafka();
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("approvals");
  const dir = await mkdtemp(join(tmpdir(), "riposte-approvals-"));
  await mkdir(join(dir, "playbooks"));
  await writeFile(join(dir, "playbooks", "isolate-host.yaml"), PLAYBOOK);
  const edr = await startFalconFake({
    "web-01": "0123456789abcdef0123456789abcdef",
    "web-02": "fedcba9876543210fedcba9876543210",
  });
  const config = loadConfig(
    {
      KAFKA_BROKERS: brokers.join(","),
      REDIS_URL: redisUrl,
      RIPOSTE_TOPIC_PREFIX: prefix,
      RIPOSTE_TOPIC_PARTITIONS: "2",
      RIPOSTE_RULES_DIR: dir,
      RIPOSTE_API_TOKEN: ADMIN,
      RIPOSTE_API_TOKENS: `apo:approver:${APPROVER},vic:viewer:${VIEWER}`,
      RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: edr.url,
      RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_ID: FALCON_CLIENT_ID,
      RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_SECRET: FALCON_CLIENT_SECRET,
    },
    CONNECTORS,
  );
  const topics = topicNames(prefix);
  const bus = kafkaBus(config.kafka.client, { brokers, clientId: "approvals-test", log: silentLogger });
  const start = (services: ServiceName[]) => startServices({ config, services, log: silentLogger, listen: false });
  const running: Running[] = [];
  let observer: { stop(): Promise<void> } | undefined;
  try {
    const api = await start(["api"]);
    running.push(api);
    let one = await start(["executor"]);
    running.push(one);
    const two = await start(["executor"]);
    running.push(two);
    const audits: Array<Record<string, unknown>> = [];
    observer = await bus.subscribe({
      groupId: `${prefix}.audit-observer`,
      topics: [topics.audit],
      handler: async (b) =>
        void audits.push(...b.map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>)),
    });
    const as = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
    const pending = async () =>
      (await api.api?.inject({ method: "GET", url: "/v1/approvals", headers: as(VIEWER) }))?.json<{
        approvals: PendingApproval[];
      }>().approvals ?? [];

    await bus.publish(topics.decisions, [{ key: "host:web-01", value: JSON.stringify(decision("k1", "web-01")) }]);
    await eventually(async () => (await pending()).length === 1, "the gated step to wait for approval", 60_000);
    const [p] = await pending();
    assert.equal(p?.decision.id, "k1");
    assert.deepEqual(p?.plan["request"], { host: "web-01" });
    assert.equal(edr.actions().length, 0, "nothing contained before the approval");
    const url = `/v1/approvals/${p?.id}/approve`;
    assert.equal((await api.api?.inject({ method: "POST", url, headers: as(VIEWER), payload: "{}" }))?.statusCode, 403);
    const ok = await api.api?.inject({ method: "POST", url, headers: as(APPROVER), payload: '{"comment":"go"}' });
    assert.equal(ok?.statusCode, 200, ok?.body);
    await eventually(() => edr.actions().length >= 1, "the approved containment", 60_000);
    const again = await api.api?.inject({ method: "POST", url, headers: as(APPROVER), payload: "{}" });
    assert.equal(again?.statusCode, 409);
    await eventually(() => audits.length >= 3, "three audit records (403, 200, 409)", 30_000);
    assert.deepEqual(
      audits.map((a) => [a["actor"], a["action"], (a["result"] as { status: number }).status]),
      [
        ["vic", "approval.approve", 403],
        ["apo", "approval.approve", 200],
        ["apo", "approval.approve", 409],
      ],
    );
    assert.ok(![ADMIN, APPROVER, VIEWER].some((t) => JSON.stringify(audits).includes(t)), "no token audited");

    // Restart: the executor that recorded the wait goes away; a new one resumes from the approval.
    await bus.publish(topics.decisions, [{ key: "host:web-02", value: JSON.stringify(decision("k2", "web-02")) }]);
    await eventually(async () => (await pending()).length === 1, "the second approval", 60_000);
    await two.stop();
    running.splice(running.indexOf(two), 1);
    await one.stop();
    running.splice(running.indexOf(one), 1);
    const [p2] = await pending();
    const ok2 = await api.api?.inject({
      method: "POST",
      url: `/v1/approvals/${p2?.id}/approve`,
      headers: as(APPROVER),
      payload: "{}",
    });
    assert.equal(ok2?.statusCode, 200, ok2?.body);
    await sleep(500);
    assert.equal(edr.actions().length, 1, "no executor runs: nothing contained yet");
    one = await start(["executor"]);
    running.push(one);
    await eventually(() => edr.actions().length >= 2, "the restarted executor to resume the approval", 60_000);
    await sleep(2_000);
    assert.equal(edr.actions().length, 2, "exactly one containment per approval");
  } finally {
    await observer?.stop();
    for (const r of running.reverse()) await r.stop().catch(() => undefined);
    await bus.close();
    await edr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("two executors on Redis racing one verdict (and both sweeps) make one vendor call", async () => {
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("approvals-race");
  const edr = await startFalconFake({ "web-01": "0123456789abcdef0123456789abcdef" });
  const states = [new RedisState(redisUrl), new RedisState(redisUrl)];
  const bus = new MemoryBus();
  const topics = topicNames(prefix);
  try {
    await Promise.all(states.map((s) => s.ready()));
    await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
    const pb = PlaybookFile.parse(parseYaml(PLAYBOOK));
    const executors = states.map(
      (state) =>
        new Executor({
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
          claimTtlMs: 1_000,
        }),
    );
    const m = (topic: string, key: string, value: unknown): InMessage => ({
      topic,
      partition: 0,
      offset: "0",
      key,
      value: Buffer.from(JSON.stringify(value)),
      headers: {},
      timestamp: 0,
    });
    const d = decision("race-1", "web-01");
    await executors[0]?.handle([m(topics.decisions, targetKey(d.target ?? { type: "host", value: "" }), d)]);
    const store = new ApprovalStore({ state: states[1] as RedisState, prefix });
    const [p] = await store.pending();
    assert.ok(p, "pending in Redis");
    const v = await store.decide(p.id, { verdict: "approved", by: "apo" }, "approver");
    assert.ok(v.ok);
    const drive = async (ex: Executor | undefined) => {
      for (let i = 0; i < 200; i++) {
        try {
          await ex?.handleApprovals([m(topics.approvals, p.id, v.verdict)]);
          return;
        } catch (e) {
          assert.match(String(e), /in progress elsewhere/);
          await sleep(25);
        }
      }
    };
    await Promise.all([
      drive(executors[0]),
      drive(executors[1]),
      executors[0]?.gates.sweep(),
      executors[1]?.gates.sweep(),
    ]);
    await drive(executors[1]);
    assert.equal(edr.actions().length, 1, "one containment");
  } finally {
    await bus.close();
    await Promise.all(states.map((s) => s.close()));
    await edr.close();
  }
});
