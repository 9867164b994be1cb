/**
 * The executor's safety guarantees against a CrowdStrike fake: effectively once with the state store failing
 * between the vendor call and the completion, budgets, the kill switch, protected assets, stale decisions, rate
 * limits, circuit breakers and one containment at a time per target. (The kill -9 case, with a real child process
 * on real Redis, is test/executor-crash.test.ts.)
 */
import { describe, test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { PlaybookFile, targetKey, type Decision } from "../../schemas/index.ts";
import { MemoryBus, type InMessage, type Subscription } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { RiposteError } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState, type StateStore } from "../shared/state/index.ts";
import {
  startFalconFake,
  FALCON_CLIENT_ID,
  FALCON_CLIENT_SECRET,
  type FalconFake,
} from "../../test/fakes/crowdstrike.ts";
import { eventually } from "../../test/support/env.ts";
import { CONNECTORS, type ConnectorDescriptor } from "./connectors/index.ts";
import { Executor } from "./executor.ts";
import { parseBreakers, parseBudgets, parseRateLimits } from "./guard-config.ts";
import { Guards, defaultGuardSettings, type GuardSettings } from "./guards.ts";
import { ProtectedAssets } from "./protected.ts";

const topics = topicNames("safety");
const hex = (n: number) => n.toString(16).padStart(32, "0");
const HOSTS = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`web-0${i + 1}`, hex(i + 1)]));

const containStep = {
  id: "contain",
  connector: "crowdstrike",
  action: "contain_host",
  params: { host: "{{target.value}}" },
  timeout: "2s",
  retry: { max: 0, backoff: "10ms" },
};

function playbook(steps: unknown[] = [containStep]): PlaybookFile {
  return PlaybookFile.parse({ id: "isolate-host", version: 1, name: "Isolate", steps });
}

function decision(id: string, host = "web-01", over: Partial<Decision> = {}): Decision {
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
    ...over,
  };
}

const msg = (d: Decision, offset = 0): InMessage => ({
  topic: topics.decisions,
  partition: 0,
  offset: String(offset),
  key: d.target ? targetKey(d.target) : null,
  value: Buffer.from(JSON.stringify(d)),
  headers: {},
  timestamp: 0,
});

/** A state store whose `complete` fails with a Redis outage while `failures` > 0: the blip after the vendor acted. */
function flaky(inner: StateStore): StateStore & { failures: number; completes: number } {
  const s = Object.create(inner) as StateStore & { failures: number; completes: number };
  s.failures = 0;
  s.completes = 0;
  s.complete = async (...args) => {
    s.completes++;
    if (s.failures > 0) {
      s.failures--;
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", "Redis complete failed: Connection is closed.");
    }
    return inner.complete(...args);
  };
  return s;
}

/** A notification connector that records its calls (classification notify). */
function chatConnector(calls: string[]): ConnectorDescriptor<null> {
  return {
    name: "chat",
    title: "Chat",
    credentials: [],
    client: () => null,
    actions: {
      post: {
        classification: "notify",
        idempotent: false,
        description: "posts a message",
        input: z.object({ text: z.string() }),
        run: async (_c, { input }) => {
          calls.push((input as { text: string }).text);
          return { posted: true };
        },
      },
    },
  };
}

/** Retries a handle the way the bus does (a claim held by a dead owner makes it throw until the claim expires). */
async function redeliverUntilDone(ex: Executor, m: InMessage, timeoutMs = 10_000): Promise<number> {
  let tries = 0;
  await eventually(
    async () => {
      tries++;
      return ex.handle([m]).then(
        () => true,
        () => false,
      );
    },
    "the redelivered decision to be handled",
    timeoutMs,
  );
  return tries;
}

describe("executor safety", () => {
  let edr: FalconFake;
  let bus: MemoryBus;
  let actions: Array<Record<string, unknown>>;
  let audit: Subscription;
  let chat: string[];

  before(async () => {
    edr = await startFalconFake(HOSTS);
  });
  after(async () => edr.close());
  beforeEach(async () => {
    edr.requests.length = 0;
    edr.faults.length = 0;
    edr.contained.clear();
    edr.records.clear();
    edr.holdActionsMs = 0;
    chat = [];
    bus = new MemoryBus();
    await bus.ensureTopics([topics.actions, topics.dlq, topics.decisions].map((name) => ({ name, partitions: 1 })));
    actions = [];
    audit = await bus.subscribe({
      groupId: "audit",
      topics: [topics.actions],
      handler: async (b) =>
        void actions.push(...b.map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>)),
    });
  });
  afterEach(async () => {
    await audit.stop();
    await bus.close();
  });

  const settle = async () => {
    const end = Number((await bus.offsets(topics.actions)).get(0)?.high ?? "0");
    await eventually(() => actions.length >= end, `the audit consumer to read ${end} action records`, 10_000);
  };

  function executor(
    opts: {
      state?: StateStore;
      pb?: PlaybookFile;
      settings?: Partial<GuardSettings>;
      claimTtlMs?: number;
      connectors?: readonly ConnectorDescriptor[];
    } = {},
  ): Executor {
    const state = opts.state ?? new MemoryState();
    const pb = opts.pb ?? playbook();
    return new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: opts.connectors ?? [...CONNECTORS, chatConnector(chat)],
      connectorConfig: {
        crowdstrike: {
          url: edr.url,
          credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
          dryRun: false,
        },
        chat: { url: "https://chat.example", credentials: {}, dryRun: false },
      },
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "safety",
      guards: new Guards({ state, prefix: "safety", settings: defaultGuardSettings(opts.settings) }),
      claimTtlMs: opts.claimTtlMs ?? 300,
    });
  }

  describe("effectively once with a Redis failure between the vendor call and the completion", () => {
    test("a blip is retried in place: one contain call, one audit record", async () => {
      const state = flaky(new MemoryState());
      state.failures = 2;
      await executor({ state }).handle([msg(decision("d1"))]);
      await settle();
      assert.equal(edr.actions().length, 1);
      assert.equal(state.completes, 3, "two failed completions, the third stored");
      assert.deepEqual(
        actions.map((a) => a["status"]),
        ["succeeded"],
      );
    });

    test("a longer outage: the result is kept in memory and completed by the redelivery, not sent again", async () => {
      const state = flaky(new MemoryState());
      state.failures = 1_000;
      const ex = executor({ state });
      await assert.rejects(ex.handle([msg(decision("d1"))]), /Connection is closed/);
      assert.equal(edr.actions().length, 1, "the vendor acted");
      await assert.rejects(ex.handle([msg(decision("d1"))]), /Connection is closed/, "still down: redelivered");
      state.failures = 0;
      await ex.handle([msg(decision("d1"))]);
      await ex.handle([msg(decision("d1"))]);
      await settle();
      assert.equal(edr.actions().length, 1, "exactly one contain call");
      assert.deepEqual(
        actions.map((a) => a["status"]),
        ["succeeded", "succeeded"],
        "the record from memory, then the stored one on the replay",
      );
      assert.deepEqual(actions[1], actions[0]);
    });

    test("the executor that called is gone: the next one verifies at the vendor and does not call again", async () => {
      const inner = new MemoryState();
      const state = flaky(inner);
      state.failures = 1_000;
      await assert.rejects(executor({ state }).handle([msg(decision("d1"))]), /Connection is closed/);
      assert.equal(edr.actions().length, 1);
      // A new executor (the first one's memory is lost), the store healthy again.
      const tries = await redeliverUntilDone(executor({ state: inner }), msg(decision("d1")));
      await settle();
      assert.ok(tries >= 1);
      assert.equal(edr.actions().length, 1, "exactly one contain call");
      const rec = actions.at(-1) as Record<string, unknown>;
      assert.equal(rec["status"], "succeeded");
      assert.equal((rec["response"] as Record<string, unknown>)["verified"], true);
      assert.equal((rec["response"] as Record<string, unknown>)["status"], "contained");
      assert.ok(
        edr.requests.some((r) => r.path === "/devices/entities/devices/v2"),
        "asked the Hosts API for the device's status",
      );
    });

    test("verify finds the effect absent: the containment is sent (the earlier call never reached the vendor)", async () => {
      const inner = new MemoryState();
      const state = flaky(inner);
      state.failures = 1_000;
      await assert.rejects(executor({ state }).handle([msg(decision("d1"))]), /Connection is closed/);
      edr.contained.clear(); // as if the vendor never acted
      await redeliverUntilDone(executor({ state: inner }), msg(decision("d1")));
      await settle();
      assert.equal(edr.actions().length, 2, "sent again, because the vendor said it was not contained");
      assert.equal(actions.at(-1)?.["status"], "succeeded");
    });

    test("non-idempotent without verify: unknown_outcome for a human, never re-sent", async () => {
      const inner = new MemoryState();
      const state = flaky(inner);
      const pb = playbook([{ id: "say", connector: "chat", action: "post", params: { text: "isolating" } }]);
      state.failures = 1_000;
      await assert.rejects(executor({ state, pb }).handle([msg(decision("d1"))]), /Connection is closed/);
      await redeliverUntilDone(executor({ state: inner, pb }), msg(decision("d1")));
      await settle();
      assert.deepEqual(chat, ["isolating"], "posted once");
      assert.equal(actions.at(-1)?.["status"], "unknown_outcome");
      assert.match(String((actions.at(-1)?.["response"] as Record<string, unknown>)["reason"]), /check by hand/);
    });
  });

  test("budget: the (N+1)th isolation is refused and audited refused_budget", async () => {
    const ex = executor({ settings: { budgets: parseBudgets("containment:3/10m").value } });
    for (const [i, h] of ["web-01", "web-02", "web-03", "web-04"].entries())
      await ex.handle([msg(decision(`d${i}`, h), i)]);
    await settle();
    assert.equal(edr.actions().length, 3);
    assert.deepEqual(
      actions.map((a) => a["status"]),
      ["succeeded", "succeeded", "succeeded", "refused_budget"],
    );
    const refusal = actions[3]?.["response"] as Record<string, unknown>;
    assert.equal(refusal["budget"], "containment:3/10m");
    assert.equal(refusal["count"], 3);
    assert.ok(!edr.requests.some((r) => r.query.get("filter") === "hostname:'web-04'"), "web-04 not even looked up");
  });

  test("defaults: 50 forged detections from one rule, all at once, contain 10 hosts (the per-rule budget)", async () => {
    for (let i = 0; i < 50; i++) edr.devices.set(`forged-${i}`, hex(1_000 + i));
    const ex = executor({ settings: { budgets: defaultGuardSettings().budgets } });
    await ex.handle(Array.from({ length: 50 }, (_, i) => msg(decision(`f${i}`, `forged-${i}`), i)));
    await settle();
    assert.equal(edr.actions().length, 10);
    const statuses = actions.map((a) => a["status"]);
    assert.equal(statuses.filter((st) => st === "refused_budget").length, 40);
    assert.equal(statuses.filter((st) => st === "succeeded").length, 10);
  });

  test("budget per rule: each rule has its own", async () => {
    const ex = executor({ settings: { budgets: parseBudgets("rule:*:containment:1/10m").value } });
    const other = { rule: { id: "r2", version: 1, hash: "h", name: "r2" } };
    for (const d of [decision("d1", "web-01"), decision("d2", "web-02"), decision("d3", "web-03", other)])
      await ex.handle([msg(d)]);
    await settle();
    assert.deepEqual(
      actions.map((a) => [a["target"] && (a["target"] as Record<string, unknown>)["value"], a["status"]]),
      [
        ["web-01", "succeeded"],
        ["web-02", "refused_budget"],
        ["web-03", "succeeded"],
      ],
    );
  });

  test("kill switch: containment paused (and not lost) while the notify step still runs", async () => {
    const pb = playbook([
      { id: "tell", connector: "chat", action: "post", params: { text: "containing {{target.value}}" } },
      containStep,
    ]);
    const state = new MemoryState();
    const ex = executor({ state, pb });
    await ex.guards.setKillSwitch(true, "forged detections");
    await ex.handle([msg(decision("d1"))]);
    await settle();
    assert.deepEqual(chat, ["containing web-01"], "the notification went out");
    assert.equal(edr.requests.length, 0, "nothing reached the EDR");
    assert.deepEqual(
      actions.map((a) => [a["step"], a["status"]]),
      [
        ["tell", "succeeded"],
        ["contain", "paused"],
      ],
    );
    assert.match(String((actions[1]?.["response"] as Record<string, unknown>)["reason"]), /kill switch \(API\)/);
    // Lifted, the same decision driven again contains the host; the notification is not sent twice.
    await ex.guards.setKillSwitch(false);
    await ex.handle([msg(decision("d1"))]);
    await settle();
    assert.equal(edr.actions().length, 1);
    assert.deepEqual(chat, ["containing web-01"]);
    assert.deepEqual(
      actions.slice(2).map((a) => [a["step"], a["status"]]),
      [
        ["tell", "succeeded"],
        ["contain", "succeeded"],
      ],
    );
  });

  test("kill switch from configuration", async () => {
    await executor({ settings: { killSwitch: true } }).handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "paused");
    assert.match(String((actions[0]?.["response"] as Record<string, unknown>)["reason"]), /configuration/);
    assert.equal(edr.requests.length, 0);
  });

  test("undoing a containment always goes through: kill switch on, budget spent, protected host, stale decision", async () => {
    const liftStep = { ...containStep, id: "lift", action: "lift_containment" };
    const prot = new ProtectedAssets({ hosts: ["web-02"], users: [], ips: [], cidrs: [] });
    const ex = executor({
      pb: playbook([liftStep]),
      settings: {
        killSwitch: true,
        protected: prot,
        budgets: parseBudgets("containment:1/10m").value,
        maxDecisionAgeMs: 60_000,
      },
    });
    await ex.handle([
      msg(decision("l1", "web-01"), 0),
      msg(decision("l2", "web-02"), 1),
      msg(decision("l3", "web-03", { time: Date.now() - 3_600_000 }), 2),
    ]);
    await settle();
    assert.deepEqual(
      actions.map((a) => a["status"]),
      ["succeeded", "succeeded", "succeeded"],
      "lifted although the kill switch is on, the budget allows one, web-02 is protected and l3 is an hour old",
    );
    assert.equal(edr.actions().filter((r) => r.query.get("action_name") === "lift_containment").length, 3);
  });

  test("protected hosts: ::ffff: forms and upper case with a trailing dot are refused, nothing sent", async () => {
    const prot = new ProtectedAssets({ hosts: ["dc01.corp.example"], users: [], ips: ["10.0.0.1"], cidrs: [] });
    const ex = executor({ settings: { protected: prot } });
    const targets = ["::ffff:10.0.0.1", "::ffff:a00:1", "DC01.CORP.EXAMPLE.", "dc01"];
    await ex.handle(targets.map((t, i) => msg(decision(`d${i}`, t), i)));
    await settle();
    assert.deepEqual(
      actions.map((a) => a["status"]),
      targets.map(() => "refused_protected"),
    );
    assert.match(String((actions[2]?.["response"] as Record<string, unknown>)["reason"]), /host dc01\.corp\.example/);
    assert.equal(edr.requests.length, 0);
  });

  test("protected: what the EDR resolved is checked again (a name that resolves to a protected machine)", async () => {
    edr.records.set(HOSTS["web-05"] as string, { hostname: "DC01.corp.example", local_ip: "10.20.0.5" });
    const prot = new ProtectedAssets({ hosts: ["dc01.corp.example"], users: [], ips: [], cidrs: [] });
    await executor({ settings: { protected: prot } }).handle([msg(decision("d1", "web-05"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "refused_protected");
    assert.match(String((actions[0]?.["response"] as Record<string, unknown>)["reason"]), /vendor resolved/);
    assert.equal(edr.actions().length, 0);
  });

  test("a decision older than the maximum age is refused as stale", async () => {
    const ex = executor({ settings: { maxDecisionAgeMs: 3_600_000 } });
    await ex.handle([msg(decision("d1", "web-01", { time: Date.now() - 2 * 3_600_000 }))]);
    await settle();
    assert.equal(actions[0]?.["status"], "refused_stale");
    assert.match(String((actions[0]?.["response"] as Record<string, unknown>)["reason"]), /2h old/);
    assert.equal(edr.requests.length, 0);
  });

  test("rate limit: calls wait for a token rather than fail", async () => {
    const ex = executor({ settings: { rateLimits: parseRateLimits("crowdstrike:1/300ms").value } });
    const started = Date.now();
    await ex.handle([msg(decision("d1", "web-01")), msg(decision("d2", "web-02"), 1)]);
    await settle();
    // Two steps of two vendor operations each (resolve the device, contain it): one token at once, three refilled.
    assert.ok(Date.now() - started >= 850, `waited for tokens (${Date.now() - started} ms)`);
    assert.deepEqual(
      actions.map((a) => a["status"]),
      ["succeeded", "succeeded"],
    );
  });

  test("circuit breaker: open after N failures, the next call fails fast without reaching the vendor", async () => {
    const ex = executor({ settings: { breakers: parseBreakers("crowdstrike:2/10s").value } });
    edr.faults.push({ status: 503, body: {} }, { status: 503, body: {} });
    for (const d of [decision("d1", "web-01"), decision("d2", "web-02"), decision("d3", "web-03")])
      await ex.handle([msg(d)]);
    await settle();
    assert.equal(edr.requests.length, 2, "the third decision never reached the vendor");
    assert.deepEqual(
      actions.map((a) => (a["error"] as Record<string, unknown> | undefined)?.["message"]),
      [
        "CrowdStrike token request: HTTP 503 {}",
        "CrowdStrike token request: HTTP 503 {}",
        "crowdstrike circuit breaker is open",
      ],
    );
  });

  test("one containment at a time per target, across executors", async () => {
    const state = new MemoryState();
    edr.holdActionsMs = 300;
    const a = executor({ state });
    const b = executor({ state });
    await Promise.all([a.handle([msg(decision("d1"))]), b.handle([msg(decision("d2"))])]);
    await settle();
    assert.equal(edr.actions().length, 2, "no lease in this playbook: both contain, one after the other");
    const log = edr.requests.map((r) => r.path);
    const first = log.indexOf("/devices/entities/devices-actions/v2");
    assert.ok(
      log.slice(first + 1).includes("/devices/queries/devices/v1"),
      "the second containment started (looked the host up) only after the first contain call",
    );
  });
});
