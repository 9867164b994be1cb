/**
 * Durable playbook runs against local vendor fakes over HTTP (CrowdStrike, a signed webhook, Slack), vendor calls
 * counted at the fakes: a graph with parallel steps and output templates, `if` on an output, for_each items (one
 * call each, also on redelivery), rollback through reverse actions, and the takeover of a run whose executor froze.
 */
import { describe, test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import type { Decision, PlaybookFile } from "../../schemas/index.ts";
import { PlaybookFile as PlaybookSchema, targetKey } from "../../schemas/index.ts";
import { MemoryBus, type InMessage } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState, RedisState, incidentKeys, type StateStore } from "../shared/state/index.ts";
import { startVendors, type Vendors } from "../../test/support/vendors.ts";
import { eventually, requireRedis, uniquePrefix } from "../../test/support/env.ts";
import { CONNECTORS } from "./connectors/index.ts";
import { ApprovalStore } from "./approvals.ts";
import { Executor } from "./executor.ts";
import { playbookHash, preparePlaybook } from "./plan.ts";
import { RunStore, runIdOf } from "./runs.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const OTHER = "fedcba9876543210fedcba9876543210";
const topics = topicNames("runs");

const contain = (over: Record<string, unknown> = {}) => ({
  id: "contain",
  connector: "crowdstrike",
  action: "contain_host",
  params: { device_id: "{{steps.lookup.output.device_id}}" },
  needs: ["lookup"],
  timeout: "2s",
  retry: { max: 0, backoff: "10ms" },
  ...over,
});

/** lookup ∥ ticket, then contain (the device id from lookup's output), then notify when both are done. */
function graph(over: { contain?: Record<string, unknown> } = {}): PlaybookFile {
  return PlaybookSchema.parse({
    id: "isolate-graph",
    version: 2,
    name: "Look up, ticket, contain, notify",
    steps: [
      { id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" }, needs: [] },
      {
        id: "ticket",
        connector: "webhook",
        action: "post",
        params: { decision: "{{decision.id}}", title: "Ticket for {{target.value}}" },
        needs: [],
      },
      contain(over.contain),
      {
        id: "notify",
        connector: "slack",
        action: "post_message",
        params: {
          title: "Contained {{steps.contain.output.device_id}} ({{target.value}})",
          decision: "{{decision.id}}",
        },
        needs: ["contain", "ticket"],
      },
    ],
  });
}

function decision(id: string, host = "web-01", params: Record<string, unknown> = {}): Decision {
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
    playbook: "isolate-graph",
    target: { type: "host", value: host },
    params,
    approval: "none",
  };
}

const msg = (d: Decision): InMessage => ({
  topic: topics.decisions,
  partition: 0,
  offset: "0",
  key: d.target ? targetKey(d.target) : null,
  value: Buffer.from(JSON.stringify(d)),
  headers: {},
  timestamp: 0,
});

describe("durable playbook runs against vendor fakes", () => {
  let v: Vendors;
  let bus: MemoryBus;
  let records: Array<Record<string, unknown>>;

  before(async () => {
    v = await startVendors({ "web-01": DEVICE, "web-02": OTHER });
  });
  after(async () => v.close());
  beforeEach(async () => {
    v.reset();
    v.edr.contained.clear();
    bus = new MemoryBus();
    await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
    records = [];
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, messages) => {
      if (topic === topics.actions)
        for (const m of messages) records.push(JSON.parse(String(m.value)) as Record<string, unknown>);
      if (topic === topics.dlq) throw new Error(`dead-lettered: ${String(messages[0]?.value)}`);
      return publish(topic, messages);
    };
  });

  function executor(pb: PlaybookFile, state: StateStore = new MemoryState(), over: Record<string, unknown> = {}) {
    return new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: CONNECTORS,
      connectorConfig: v.connectorConfig,
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "runs",
      claimTtlMs: 300,
      ...over,
    });
  }
  const lookups = () => v.edr.requests.filter((r) => r.path === "/devices/queries/devices/v1");

  test("a graph: parallel steps, outputs templated into later steps, one call per action; the run records it", async () => {
    const pb = graph();
    const ex = executor(pb);
    await ex.handle([msg(decision("g1"))]);
    assert.equal(lookups().length, 1, "one host lookup: contain_host got the device id from the lookup's output");
    assert.equal(v.webhook.unique(), 1);
    assert.deepEqual(
      v.edr.actions().map((r) => [r.query.get("action_name"), JSON.parse(r.body) as unknown]),
      [["contain", { ids: [DEVICE] }]],
      "contained the device the lookup found",
    );
    assert.equal(v.slack.messages.length, 1);
    assert.match(JSON.stringify(v.slack.messages[0]), new RegExp(`Contained ${DEVICE} \\(web-01\\)`));
    const run = await ex.runs.get(runIdOf("g1"));
    assert.ok(run);
    assert.equal(run.status, "succeeded");
    assert.deepEqual(run.playbook, { id: "isolate-graph", version: 2, hash: playbookHash(pb) });
    assert.deepEqual(
      Object.entries(run.steps).map(([id, s]) => [id, s.state, s.status, s.attempts]),
      [
        ["lookup", "succeeded", "succeeded", 1],
        ["ticket", "succeeded", "succeeded", 1],
        ["contain", "succeeded", "succeeded", 2],
        ["notify", "succeeded", "succeeded", 1],
      ],
    );
    for (const s of Object.values(run.steps)) {
      assert.equal(typeof s.latency_ms, "number");
      assert.match(s.trace_id ?? "", /^[0-9a-f]{32}$/);
    }
    assert.equal((run.steps["lookup"]?.output as Record<string, unknown>)["device_id"], DEVICE);
    const notify = run.steps["notify"];
    assert.ok((notify?.started ?? 0) >= (run.steps["contain"]?.finished ?? Infinity), "notify after contain");
    assert.equal(records.length, 4);
    for (const r of records) {
      assert.equal(r["playbook"], "isolate-graph");
      assert.equal(r["playbook_version"], 2);
      assert.equal(r["playbook_hash"], playbookHash(pb));
      assert.equal(r["run_id"], run.id);
    }
    assert.deepEqual(
      run.actions.map((a) => a.step),
      records.map((r) => r["step"]),
    );
    // Redelivered: nothing is sent again, the four records are re-published with their ids.
    await ex.handle([msg(decision("g1"))]);
    assert.equal(lookups().length, 1);
    assert.equal(v.edr.actions().length, 1);
    assert.equal(v.webhook.requests.length, 1);
    assert.equal(v.slack.posts().length, 1);
    assert.deepEqual(records.slice(4), records.slice(0, 4));
  });

  test("if on an earlier output: a device already contained is not contained again; what needs it is skipped", async () => {
    const cond = { fact: "steps", path: "$.lookup.output.status", operator: "notEqual", value: "contained" };
    const ex = executor(graph({ contain: { if: cond } }));
    v.edr.contained.add(DEVICE);
    await ex.handle([msg(decision("i1"))]);
    assert.equal(v.edr.actions().length, 0);
    assert.equal(v.webhook.unique(), 1, "the ticket does not depend on it");
    assert.equal(v.slack.posts().length, 0);
    const run = await ex.runs.get(runIdOf("i1"));
    assert.deepEqual(
      Object.entries(run?.steps ?? {}).map(([id, s]) => [id, s.status]),
      [
        ["lookup", "succeeded"],
        ["ticket", "succeeded"],
        ["contain", "skipped_condition"],
        ["notify", "skipped_dependency"],
      ],
    );
    assert.equal(run?.status, "succeeded");
  });

  const tell = (over: Record<string, unknown> = {}) =>
    PlaybookSchema.parse({
      id: "isolate-graph",
      version: 1,
      name: "Tell each recipient",
      steps: [
        {
          id: "tell",
          connector: "webhook",
          action: "post",
          for_each: "params.recipients",
          params: { decision: "{{decision.id}}", title: "Tell {{item}}", target: "{{item}}" },
          retry: { max: 0, backoff: "10ms" },
          on_failure: "continue",
          ...over,
        },
      ],
    });

  test("for_each: one call per recipient, each its own action; a redelivery and a second executor send none", async () => {
    const state = new MemoryState();
    const recipients = ["ann@example.com", "bob@example.com", "cy@example.com"];
    const d = decision("f1", "web-01", { recipients });
    await executor(tell(), state).handle([msg(d)]);
    assert.deepEqual(
      v.webhook.deliveries.map((x) => x.body["target"]),
      recipients,
    );
    await executor(tell(), state).handle([msg(d)]);
    assert.equal(v.webhook.requests.length, 3, "no delivery twice");
    const ids = new Set(records.map((r) => r["id"]));
    assert.equal(ids.size, 3, "three action ids");
    assert.deepEqual(
      records
        .slice(0, 3)
        .map((r) => r["item"])
        .sort(),
      recipients,
    );
    const run = await executor(tell(), state).runs.get(runIdOf("f1"));
    assert.deepEqual(
      run?.steps["tell"]?.items?.map((i) => [i.item, i.status]),
      recipients.map((r) => [r, "succeeded"]),
    );
  });

  test("for_each: one item failing fails the step; its other items are not sent again on redelivery", async () => {
    const state = new MemoryState();
    const d = decision("f2", "web-01", { recipients: ["ann@example.com", "bob@example.com"] });
    v.webhook.faults.push({ status: 400, body: { error: "bad" } });
    await executor(tell(), state).handle([msg(d)]);
    assert.equal(v.webhook.requests.length, 2);
    const run = await executor(tell(), state).runs.get(runIdOf("f2"));
    assert.equal(run?.status, "failed");
    assert.equal(run?.steps["tell"]?.state, "failed");
    assert.deepEqual(run?.steps["tell"]?.items?.map((i) => i.status).sort(), ["failed", "succeeded"]);
    await executor(tell(), state).handle([msg(d)]);
    assert.equal(v.webhook.requests.length, 2, "a failed run is not run again by a redelivery");
  });

  test("for_each over more items than allowed: the step fails, nothing is sent, the error says what to do", async () => {
    const ex = executor(tell(), new MemoryState(), { forEachMax: 2 });
    await ex.handle([msg(decision("f3", "web-01", { recipients: ["a@x.io", "b@x.io", "c@x.io"] }))]);
    assert.equal(v.webhook.requests.length, 0);
    const step = (await ex.runs.get(runIdOf("f3")))?.steps["tell"];
    assert.equal(step?.error?.code, "RIPOSTE_FOR_EACH_TOO_LONG");
    assert.match(step?.error?.message ?? "", /3 items, more than the 2 .*RIPOSTE_FOR_EACH_MAX/);
  });

  test("on_failure: rollback lifts the containment done before the failure, once, latest first", async () => {
    const pb = PlaybookSchema.parse({
      id: "isolate-graph",
      version: 1,
      name: "Contain, then ticket or undo",
      steps: [
        { id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" } },
        contain({ params: { host: "{{target.value}}" } }),
        {
          id: "ticket",
          connector: "webhook",
          action: "post",
          params: { decision: "{{decision.id}}" },
          retry: { max: 0, backoff: "10ms" },
          on_failure: "rollback",
        },
      ],
    });
    const state = new MemoryState();
    v.webhook.faults.push({ status: 400, body: { error: "no such project" } });
    await executor(pb, state).handle([msg(decision("r1"))]);
    assert.deepEqual(
      v.edr.actions().map((r) => r.query.get("action_name")),
      ["contain", "lift_containment"],
    );
    assert.equal(v.edr.contained.size, 0);
    const run = await executor(pb, state).runs.get(runIdOf("r1"));
    assert.equal(run?.status, "rolled_back");
    assert.equal(run?.aborted_by, "ticket");
    assert.equal(run?.steps["contain"]?.rollback?.action, "lift_containment");
    assert.equal(run?.steps["contain"]?.rollback?.status, "succeeded");
    assert.equal(run?.steps["lookup"]?.rollback?.status, "skipped_no_reverse");
    assert.deepEqual(
      records.map((r) => [r["step"], r["action"], r["status"]]),
      [
        ["lookup", "get_device", "succeeded"],
        ["contain", "contain_host", "succeeded"],
        ["ticket", "post", "failed"],
        ["contain.rollback", "lift_containment", "succeeded"],
      ],
    );
    await executor(pb, state).handle([msg(decision("r1"))]);
    assert.equal(v.edr.actions().length, 2, "the redelivery neither contains nor lifts again");
  });

  test("two executors on Redis racing one decision's graph: one vendor call per action, one run", async () => {
    const url = await requireRedis();
    const [sa, sb] = [new RedisState(url), new RedisState(url)];
    await Promise.all([sa.ready(), sb.ready()]);
    const prefix = uniquePrefix("runs-race");
    try {
      const pb = graph();
      const [a, b] = [executor(pb, sa, { statePrefix: prefix }), executor(pb, sb, { statePrefix: prefix })];
      const d = decision("race1", "web-02");
      // Each is redelivered (as the bus would) while the other holds the run.
      const drive = async (ex: Executor) => {
        for (;;) {
          try {
            return await ex.handle([msg(d)]);
          } catch (e) {
            assert.match(String(e), /in progress elsewhere/);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      };
      await Promise.all([drive(a), drive(b)]);
      assert.equal(lookups().length, 1);
      assert.equal(v.edr.actions().length, 1);
      assert.equal(v.webhook.requests.length, 1);
      assert.equal(v.slack.posts().length, 1);
      const run = await a.runs.get(runIdOf("race1"));
      assert.equal(run?.status, "succeeded");
      assert.deepEqual(
        (await b.runs.list({ decision_id: "race1", limit: 10 })).runs.map((r) => r.id),
        [runIdOf("race1")],
      );
    } finally {
      await Promise.all([sa.close(), sb.close()]);
    }
  });

  test("a run keeps the playbook version it started with: a verdict after a reload resumes it with that one", async () => {
    const state = new MemoryState();
    const gated = {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      params: { host: "{{target.value}}" },
      approval: { roles: ["approver"], expires: "1h" },
    };
    const v1 = PlaybookSchema.parse({ id: "isolate-graph", version: 1, name: "v1", steps: [gated] });
    const v2 = PlaybookSchema.parse({
      id: "isolate-graph",
      version: 2,
      name: "v2",
      steps: [gated, { id: "tell", connector: "webhook", action: "post", params: { decision: "{{decision.id}}" } }],
    });
    await executor(v1, state).handle([msg(decision("v1d"))]);
    const approvals = new ApprovalStore({ state, prefix: "runs" });
    const [pending] = await approvals.pending();
    assert.ok(pending);
    const verdict = await approvals.decide(pending.id, { verdict: "approved", by: "apo" }, "approver");
    assert.ok(verdict.ok);
    // Restarted with version 2 loaded: the run that started with version 1 goes on with version 1.
    const reloaded = executor(v2, state);
    await reloaded.handleApprovals([{ ...msg(decision("v1d")), value: Buffer.from(JSON.stringify(verdict.verdict)) }]);
    assert.equal(v.edr.actions().length, 1);
    assert.equal(v.webhook.requests.length, 0, "version 2's extra step is not in this run");
    const run = await reloaded.runs.get(runIdOf("v1d"));
    assert.equal(run?.status, "succeeded");
    assert.deepEqual(run?.playbook, { id: "isolate-graph", version: 1, hash: playbookHash(v1) });
    const contained = records.find((r) => r["step"] === "contain" && r["status"] === "succeeded");
    assert.equal(contained?.["playbook_version"], 1);
    assert.equal(contained?.["playbook_hash"], playbookHash(v1));
    assert.equal((contained?.["approval"] as Record<string, unknown>)["by"], "apo");
  });

  test("if on the decision's incident: the step runs only for an entity whose open incident scores high", async () => {
    const state = new MemoryState();
    const keys = incidentKeys("runs");
    const incident = { id: "inc-1", status: "open", score: 90 };
    await state.incidentSave(keys, {
      writes: [{ id: "inc-1", doc: JSON.stringify(incident), version: 1, lastSeen: Date.now() }],
      links: [{ entity: "host:web-01", id: "inc-1" }],
      linkTime: Date.now(),
      retainAfter: 0,
      linkAfter: 0,
      ttlMs: 60_000,
    });
    const pb = PlaybookSchema.parse({
      id: "isolate-graph",
      version: 1,
      name: "Ticket high incidents",
      steps: [
        {
          id: "ticket",
          connector: "webhook",
          action: "post",
          params: { decision: "{{decision.id}}", title: "Incident {{incident.id}}" },
          if: { fact: "incident", path: "$.score", operator: "greaterThanInclusive", value: 80 },
        },
      ],
    });
    const ex = executor(pb, state);
    await ex.handle([msg(decision("inc-a", "web-01"))]);
    await ex.handle([msg(decision("inc-b", "web-02"))]);
    assert.deepEqual(
      v.webhook.deliveries.map((x) => [x.body["decision"], x.body["title"]]),
      [["inc-a", "Incident inc-1"]],
    );
    assert.equal((await ex.runs.get(runIdOf("inc-b")))?.steps["ticket"]?.status, "skipped_condition");
  });

  test("a run whose executor froze is taken over by another from its state: no action is sent twice", async () => {
    const inner = new MemoryState();
    // The first executor's store stops answering once its lookup is audited: it is alive to no one (no heartbeat).
    let frozen = false;
    const frozenState = new Proxy(inner, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) =>
          frozen ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, messages) => {
      const out = await publish(topic, messages);
      if (messages.some((m) => String(m.value).includes('"step":"lookup"'))) frozen = true;
      return out;
    };
    const pb = graph();
    const first = executor(pb, frozenState);
    void first.handle([msg(decision("t1"))]);
    await eventually(() => frozen, "the first executor to audit its lookup and freeze", 10_000);
    const second = executor(pb, inner);
    await eventually(async () => (await second.reap()) === 1, "the reaper to take the run over", 10_000);
    const run = await second.runs.get(runIdOf("t1"));
    assert.equal(run?.status, "succeeded");
    assert.equal(run?.takeovers, 1);
    assert.equal(lookups().length, 1, "the lookup was not sent again");
    assert.equal(v.edr.actions().length, 1, "one contain call");
    assert.equal(v.webhook.unique(), 1);
    assert.equal(v.webhook.requests.length, 1);
    assert.equal(v.slack.posts().length, 1);
    assert.equal(await second.reap(), 0, "nothing left to reap");
  });
});

test("runs starting together keep their playbook version in state with one write; a failed write is tried again", async () => {
  const state = new MemoryState();
  let writes = 0;
  let fail = true;
  const counting = Object.create(state) as MemoryState;
  counting.setValue = async (...args) => {
    writes++;
    if (fail) throw new Error("blip");
    return state.setValue(...args);
  };
  const store = new RunStore({ state: counting, prefix: "keep" });
  const pb = preparePlaybook(
    PlaybookSchema.parse({
      id: "k",
      version: 1,
      name: "k",
      steps: [{ id: "a", connector: "slack", action: "post_message", params: { title: "x" } }],
    }),
  );
  await assert.rejects(Promise.all([store.keep(pb), store.keep(pb)]), /blip/);
  assert.equal(writes, 1, "one write for both");
  fail = false;
  await Promise.all(Array.from({ length: 10 }, () => store.keep(pb)));
  await store.keep(pb);
  assert.equal(writes, 2, "tried again once after the failure, then known");
  assert.equal((await new RunStore({ state, prefix: "keep" }).version(pb.hash))?.hash, pb.hash);
});
