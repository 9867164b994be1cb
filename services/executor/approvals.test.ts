/**
 * Approval gates on the embedded bus and in-memory state, against the CrowdStrike fake (vendor calls counted):
 * pending → approved → the step runs once; denied → no call; expiry follows on_expiry; a pending approval survives
 * an executor restart; two executors seeing one verdict make one call.
 */
import { describe, test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { Decision, PlaybookFile } from "../../schemas/index.ts";
import { PlaybookFile as PlaybookSchema, targetKey } from "../../schemas/index.ts";
import { MemoryBus, type InMessage, type Subscription } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
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
import { CONNECTORS } from "./connectors/index.ts";
import { ApprovalStore, type ApprovalVerdict } from "./approvals.ts";
import { Executor } from "./executor.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const topics = topicNames("appr");

/** A lookup (no gate), then the containment behind an approval gate, then another lookup after it. */
function playbook(gate: Record<string, unknown> = {}): PlaybookFile {
  return PlaybookSchema.parse({
    id: "isolate-host",
    version: 3,
    name: "Isolate with approval",
    steps: [
      { id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" } },
      {
        id: "contain",
        connector: "crowdstrike",
        action: "contain_host",
        params: { host: "{{target.value}}" },
        timeout: "2s",
        retry: { max: 1, backoff: "10ms" },
        approval: { roles: ["approver"], expires: "1h", on_expiry: "deny", ...gate },
      },
      { id: "after", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" } },
    ],
  });
}

function decision(id: string, over: Partial<Decision> = {}): Decision {
  return {
    id,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `a-${id}`,
      fingerprint: `f-${id}`,
      entity_key: "host:web-01",
      class_uid: 2004,
      title: "t",
      source: "s",
      severity_id: 4,
      time: 1,
    },
    rule: { id: "edr-high", version: 2, hash: "h", name: "EDR high" },
    playbook: "isolate-host",
    target: { type: "host", value: "web-01" },
    params: {},
    approval: "none",
    ...over,
  };
}

const msg = (topic: string, key: string | null, value: unknown, offset = 0): InMessage => ({
  topic,
  partition: 0,
  offset: String(offset),
  key,
  value: Buffer.from(JSON.stringify(value)),
  headers: {},
  timestamp: 0,
});
const decisionMsg = (d: Decision) => msg(topics.decisions, d.target ? targetKey(d.target) : null, d);
const verdictMsg = (v: ApprovalVerdict) => msg(topics.approvals, v.id, v);

describe("approval gates", () => {
  let edr: FalconFake;
  let bus: MemoryBus;
  let state: StateStore;
  let actions: Array<Record<string, unknown>>;
  let audit: Subscription;

  before(async () => {
    edr = await startFalconFake({ "web-01": DEVICE });
  });
  after(async () => edr.close());
  beforeEach(async () => {
    edr.requests.length = 0;
    bus = new MemoryBus();
    state = new MemoryState();
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

  const executor = (pb = playbook(), now?: () => number) =>
    new Executor({
      ...(now ? { now } : {}),
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
      statePrefix: "appr",
      claimTtlMs: 500,
      approvalSweepMs: 50,
      approvalGraceMs: 0,
    });
  const store = () => new ApprovalStore({ state, prefix: "appr" });
  const settle = async () => {
    const end = Number((await bus.offsets(topics.actions)).get(0)?.high ?? "0");
    await eventually(() => actions.length >= end, `the audit consumer to read ${end} action records`, 10_000);
  };
  const byStep = (step: string) => actions.filter((a) => a["step"] === step);
  const decide = async (id: string, verdict: "approved" | "denied", by = "apo") => {
    const d = await store().decide(id, { verdict, by }, "approver");
    assert.ok(d.ok, JSON.stringify(d));
    return d.verdict;
  };

  test("the steps before the gate run, the gated one waits with what it would send and why; nothing contained", async () => {
    await executor().handle([decisionMsg(decision("d1"))]);
    await settle();
    assert.deepEqual(
      actions.map((a) => [a["step"], a["status"]]),
      [
        ["lookup", "succeeded"],
        ["contain.approval", "awaiting_approval"],
      ],
    );
    assert.equal(edr.actions().length, 0);
    const [p] = await store().pending();
    assert.ok(p);
    assert.equal(p.decision.id, "d1");
    assert.deepEqual([p.playbook.id, p.playbook.version, p.step, p.step_index], ["isolate-host", 3, "contain", 1]);
    assert.deepEqual(p.plan["request"], { host: "web-01" });
    assert.equal(p.plan["classification"], "containment");
    assert.equal(p.why.rule?.id, "edr-high");
    assert.equal(p.why.alert.uid, "a-d1");
    assert.ok(p.expires_at - p.requested_at === 3_600_000);
    assert.equal(
      byStep("contain.approval")[0]?.["response"] &&
        (byStep("contain.approval")[0]?.["response"] as Record<string, unknown>)["approval_id"],
      p.id,
    );
  });

  test("approved: the step and the rest run exactly once (redelivered verdict, replayed decision); the approver is in the audit", async () => {
    const ex = executor();
    await ex.handle([decisionMsg(decision("d2"))]);
    const [p] = await store().pending();
    assert.ok(p);
    const v = await decide(p.id, "approved");
    await ex.handleApprovals([verdictMsg(v)]);
    await ex.handleApprovals([verdictMsg(v)]);
    await ex.handle([decisionMsg(decision("d2"))]);
    await settle();
    assert.equal(edr.actions().length, 1, "one contain call");
    const contain = byStep("contain");
    assert.equal(contain[0]?.["status"], "succeeded");
    assert.deepEqual((contain[0]?.["approval"] as Record<string, unknown>)["by"], "apo");
    assert.equal(byStep("after")[0]?.["status"], "succeeded", "the rest of the playbook ran");
    assert.deepEqual(await store().pending(), []);
  });

  test("denied: the step is recorded denied, the rest skipped, no vendor call", async () => {
    const ex = executor();
    await ex.handle([decisionMsg(decision("d3"))]);
    const [p] = await store().pending();
    assert.ok(p);
    await ex.handleApprovals([verdictMsg(await decide(p.id, "denied", "deb"))]);
    await settle();
    assert.equal(edr.actions().length, 0);
    assert.equal(byStep("contain")[0]?.["status"], "denied");
    assert.equal((byStep("contain")[0]?.["approval"] as Record<string, unknown>)["by"], "deb");
    assert.equal(byStep("after").length, 0, "the rest is skipped");
  });

  test("expiry with on_expiry: deny → expired, no call; with proceed → the step runs (by the sweep, no verdict sent)", async () => {
    for (const [onExpiry, status, calls] of [
      ["deny", "expired", 0],
      ["proceed", "succeeded", 1],
    ] as const) {
      edr.requests.length = 0;
      const ex = executor(playbook({ expires: "150ms", on_expiry: onExpiry }));
      await ex.handle([decisionMsg(decision(`d4-${onExpiry}`))]);
      assert.equal((await ex.gates.sweep()) + edr.actions().length, 0, "nothing expires early");
      ex.start();
      await eventually(async () => (await store().open()).length === 0, "the sweep to expire the approval", 5_000);
      await ex.stop();
      await settle();
      const contain = byStep("contain").filter((a) => a["decision_id"] === `d4-${onExpiry}`);
      assert.equal(contain[0]?.["status"], status, onExpiry);
      assert.equal((contain[0]?.["approval"] as Record<string, unknown>)["by"], "expiry");
      assert.equal(edr.actions().length, calls, onExpiry);
      // An approver's verdict after the expiry is refused.
      const late = await store().decide(String((contain[0]?.["approval"] as Record<string, unknown>)["id"]), {
        verdict: "approved",
        by: "apo",
      });
      assert.equal(late.ok, false);
    }
  });

  test("a pending approval survives an executor restart: a new executor on the same state resumes it", async () => {
    const first = executor();
    await first.handle([decisionMsg(decision("d5"))]);
    await first.stop();
    const [p] = await store().pending();
    assert.ok(p);
    const v = await decide(p.id, "approved");
    const second = executor();
    await second.handleApprovals([verdictMsg(v)]);
    await settle();
    assert.equal(edr.actions().length, 1);
    assert.equal(byStep("contain")[0]?.["status"], "succeeded");
  });

  test("two executors seeing the same verdict (and the sweep) make one vendor call", async () => {
    const [a, b] = [executor(), executor()];
    await a.handle([decisionMsg(decision("d6"))]);
    const [p] = await store().pending();
    assert.ok(p);
    const v = await decide(p.id, "approved");
    const drive = async (ex: Executor) => {
      for (;;) {
        try {
          return await ex.handleApprovals([verdictMsg(v)]);
        } catch (e) {
          // The other executor holds the step's claim: redelivered, as the bus would.
          assert.match(String(e), /in progress elsewhere/);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    await Promise.all([drive(a), drive(b), a.gates.sweep()]);
    await settle();
    assert.equal(edr.actions().length, 1);
  });

  test("approval: required on the decision gates the first containment step (as before: nothing contained)", async () => {
    const pb = PlaybookSchema.parse({
      id: "isolate-host",
      version: 1,
      name: "Isolate",
      steps: [
        { id: "contain", connector: "crowdstrike", action: "contain_host", params: { host: "{{target.value}}" } },
      ],
    });
    const ex = executor(pb);
    await ex.handle([decisionMsg(decision("d7", { approval: "required" }))]);
    await settle();
    assert.deepEqual(
      actions.map((a) => [a["step"], a["status"]]),
      [["approval", "awaiting_approval"]],
    );
    const [p] = await store().pending();
    assert.ok(p);
    assert.deepEqual([p.step, p.roles, p.on_expiry], ["contain", ["approver"], "deny"]);
    await ex.handleApprovals([verdictMsg(await decide(p.id, "approved"))]);
    await settle();
    assert.equal(edr.actions().length, 1);
  });

  test("an approved step paused by the kill switch runs once the switch is off (the sweep resumes it)", async () => {
    const ex = executor();
    await ex.handle([decisionMsg(decision("d8"))]);
    const [p] = await store().pending();
    assert.ok(p);
    await ex.guards.setKillSwitch(true, "drill");
    await ex.handleApprovals([verdictMsg(await decide(p.id, "approved"))]);
    await settle();
    assert.equal(byStep("contain")[0]?.["status"], "paused");
    assert.equal(edr.actions().length, 0);
    assert.equal((await store().open()).length, 1, "not marked resumed");
    await ex.guards.setKillSwitch(false);
    assert.equal(await ex.gates.sweep(), 1);
    await settle();
    assert.equal(edr.actions().length, 1);
    assert.equal(byStep("contain").at(-1)?.["status"], "succeeded");
    assert.equal((await store().open()).length, 0);
    await ex.gates.sweep();
    assert.equal(edr.actions().length, 1, "once");
  });

  test("an approved step is judged by the approval's time: approved 2 h after its decision, it runs", async () => {
    const ex = executor(playbook({ expires: "4h" }));
    await ex.handle([decisionMsg(decision("d9", { time: Date.now() - 2 * 3_600_000 }))]);
    const [p] = await store().pending();
    assert.ok(p);
    await ex.handleApprovals([verdictMsg(await decide(p.id, "approved"))]);
    await settle();
    assert.equal(byStep("contain")[0]?.["status"], "succeeded", "the approver saw it fresh");
    assert.equal(edr.actions().length, 1);
  });

  test("an approved step that then waits 2 h (kill switch) is refused stale, judged from the approval", async () => {
    const old = { time: Date.now() - 2 * 3_600_000 };
    let shift = 0;
    const ex = executor(playbook({ expires: "4h" }), () => Date.now() + shift);
    await ex.handle([decisionMsg(decision("d11", old))]);
    const [p] = await store().pending();
    assert.ok(p);
    await ex.guards.setKillSwitch(true, "drill");
    await ex.handleApprovals([verdictMsg(await decide(p.id, "approved"))]);
    await ex.guards.setKillSwitch(false);
    shift = 2 * 3_600_000;
    await ex.gates.sweep();
    await settle();
    const contain = byStep("contain").filter((a) => a["decision_id"] === "d11");
    assert.deepEqual(
      contain.map((a) => a["status"]),
      ["paused", "refused_stale"],
    );
    assert.match(String((contain[1]?.["response"] as Record<string, unknown>)["reason"]), /approval .* is 2h old/);
    assert.equal(edr.actions().length, 0);
  });
});
