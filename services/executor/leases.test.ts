/**
 * Containment leases against a CrowdStrike fake, on a clock the test moves: the lease ends (expiry or release) and
 * the scheduler lifts the containment once; extend pushes the expiry; a failing lift is retried and shown.
 * Vendor calls are counted at the fake.
 */
import { describe, test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { Decision, PlaybookFile } from "../../schemas/index.ts";
import { PlaybookFile as PlaybookSchema, targetKey } from "../../schemas/index.ts";
import { MemoryBus, type InMessage, type Subscription } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import {
  startFalconFake,
  FALCON_CLIENT_ID,
  FALCON_CLIENT_SECRET,
  type FalconFake,
} from "../../test/fakes/crowdstrike.ts";
import { eventually } from "../../test/support/env.ts";
import { CONNECTORS } from "./connectors/index.ts";
import { Executor } from "./executor.ts";
import { Guards, defaultGuardSettings } from "./guards.ts";
import { RiposteError } from "../shared/errors.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const topics = topicNames("leases");
const HOUR = 3_600_000;

const PLAYBOOK: PlaybookFile = PlaybookSchema.parse({
  id: "isolate-host",
  version: 1,
  name: "Isolate",
  steps: [
    {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      params: { host: "{{target.value}}" },
      timeout: "2s",
      retry: { max: 0, backoff: "10ms" },
      lease: { ttl: "1h" },
    },
  ],
});

let clock = 1_800_000_000_000;
const now = () => clock;

function decision(id: string, host = "web-01"): Decision {
  return {
    id,
    outcome: "respond",
    time: clock,
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
    rule: { id: "lateral-movement", version: 1, hash: "h", name: "r" },
    playbook: "isolate-host",
    target: { type: "host", value: host },
    params: {},
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

describe("containment leases", () => {
  let edr: FalconFake;
  let bus: MemoryBus;
  let state: MemoryState;
  let records: Array<Record<string, unknown>>;
  let audit: Subscription;

  before(async () => {
    edr = await startFalconFake({ "web-01": DEVICE });
  });
  after(async () => edr.close());
  beforeEach(async () => {
    edr.requests.length = 0;
    edr.faults.length = 0;
    edr.contained.clear();
    clock = 1_800_000_000_000;
    bus = new MemoryBus();
    state = new MemoryState({ now });
    await bus.ensureTopics([topics.actions, topics.dlq, topics.decisions].map((name) => ({ name, partitions: 1 })));
    records = [];
    audit = await bus.subscribe({
      groupId: "audit",
      topics: [topics.actions],
      handler: async (b) =>
        void records.push(...b.map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>)),
    });
  });
  afterEach(async () => {
    await audit.stop();
    await bus.close();
  });

  const executor = (store: MemoryState = state) =>
    new Executor({
      bus,
      state: store,
      topics,
      playbooks: new Map([[PLAYBOOK.id, PLAYBOOK]]),
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
      statePrefix: "leases",
      now,
      guards: new Guards({
        state,
        prefix: "leases",
        settings: defaultGuardSettings({ maxDecisionAgeMs: 1_000 * HOUR }),
        now,
      }),
      leaseRetryMs: 1_000,
    });
  const settle = async () => {
    const end = Number((await bus.offsets(topics.actions)).get(0)?.high ?? "0");
    await eventually(() => records.length >= end, `the audit consumer to read ${end} records`, 10_000);
  };
  const calls = (action: string) => edr.actions().filter((r) => r.query.get("action_name") === action).length;

  test("a lease is taken when the containment succeeds and, at its expiry, lifts it once", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    const [lease, ...more] = await ex.leases.list(0, 10);
    assert.equal(more.length, 0);
    assert.ok(lease);
    assert.deepEqual(
      {
        status: lease.status,
        target: lease.target,
        action: lease.action,
        reverse: lease.reverse,
        rule: lease.rule_id,
        decision: lease.decision_id,
        since: lease.since,
        expires: lease.expires,
      },
      {
        status: "active",
        target: { type: "host", value: "web-01" },
        action: "contain_host",
        reverse: "lift_containment",
        rule: "lateral-movement",
        decision: "d1",
        since: new Date(clock).toISOString(),
        expires: new Date(clock + HOUR).toISOString(),
      },
    );
    clock += HOUR - 1;
    assert.equal(await ex.leaseScheduler.sweep(), 0, "not due before its expiry");
    assert.equal(calls("lift_containment"), 0);
    clock += 1;
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(await ex.leaseScheduler.sweep(), 0, "once");
    assert.equal(calls("contain"), 1);
    assert.equal(calls("lift_containment"), 1, "one lift call");
    const lift = edr.actions().find((r) => r.query.get("action_name") === "lift_containment");
    assert.deepEqual(JSON.parse(lift?.body ?? "{}"), { ids: [DEVICE] });
    assert.equal(edr.contained.has(DEVICE), false);
    await settle();
    assert.equal(records.length, 2);
    const [contained, lifted] = records;
    assert.equal(contained?.["status"], "succeeded");
    assert.deepEqual((contained?.["response"] as Record<string, unknown>)["lease"], {
      id: lease.id,
      expires: lease.expires,
      reverse: "lift_containment",
    });
    assert.equal(lifted?.["status"], "succeeded");
    assert.equal(lifted?.["lease_id"], lease.id);
    assert.equal(lifted?.["action"], "lift_containment");
    assert.equal(lifted?.["step"], "contain.reverse");
    assert.equal(lifted?.["decision_id"], "d1");
    assert.equal(lifted?.["rule_id"], "lateral-movement");
    assert.deepEqual(lifted?.["request"], { host: "web-01" });
    assert.deepEqual((lifted?.["response"] as Record<string, unknown>)["lease"], { id: lease.id, why: "expired" });
    assert.deepEqual(await ex.leases.list(0, 10), [], "the lease is gone");
    // The target is free again: a new decision contains it (and takes a new lease).
    await ex.handle([msg(decision("d2"))]);
    assert.equal(calls("contain"), 2);
    assert.equal((await ex.leases.list(0, 10)).length, 1);
  });

  test("while a lease holds the target a second decision is skipped; extend pushes the expiry", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    await ex.handle([msg(decision("d2"))]);
    await settle();
    assert.deepEqual(
      records.map((r) => r["status"]),
      ["succeeded", "skipped_lease"],
    );
    const [lease] = await ex.leases.list(0, 10);
    clock += HOUR / 2;
    const extended = await ex.leases.extend(lease?.id ?? "", 2 * HOUR);
    assert.equal(extended.expires, new Date(clock + 2 * HOUR).toISOString());
    clock += HOUR;
    assert.equal(await ex.leaseScheduler.sweep(), 0, "past the first expiry: still in force");
    assert.equal(calls("lift_containment"), 0);
    clock += HOUR;
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(calls("lift_containment"), 1);
  });

  test("release lifts at once; an ended lease cannot be extended or released again", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    const [lease] = await ex.leases.list(0, 10);
    const id = lease?.id ?? "";
    const released = await ex.leases.release(id, "ana");
    assert.equal(released.status, "releasing");
    assert.deepEqual(released.ended, { why: "released", at: clock, by: "ana" });
    await assert.rejects(ex.leases.extend(id, HOUR), { code: "RIPOSTE_LEASE_ENDED" });
    await assert.rejects(ex.leases.release(id, "bob"), { code: "RIPOSTE_LEASE_ENDED" });
    assert.equal(await ex.leaseScheduler.sweep(), 1, "due at once, not at its expiry");
    assert.equal(calls("lift_containment"), 1);
    await settle();
    assert.deepEqual((records[1]?.["response"] as Record<string, unknown>)["lease"], {
      id,
      why: "released",
      by: "ana",
    });
    await assert.rejects(ex.leases.release(id, "bob"), { code: "RIPOSTE_NOT_FOUND" });
    clock += 2 * HOUR;
    assert.equal(await ex.leaseScheduler.sweep(), 0);
    assert.equal(calls("lift_containment"), 1, "never lifted twice");
  });

  test("a lift the vendor refuses with a 503 is retried with backoff, shown meanwhile, and then sent once", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    const [lease] = await ex.leases.list(0, 10);
    clock += HOUR;
    edr.faults.push({ status: 503, body: { errors: [{ code: 503, message: "service unavailable" }] } });
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(calls("lift_containment"), 0, "the 503 came before the lift");
    const shown = await ex.leases.get(lease?.id ?? "");
    assert.equal(shown?.status, "retrying");
    assert.equal(shown?.ended?.attempts, 1);
    assert.equal(shown?.ended?.error?.code, "RIPOSTE_CONNECTOR_UNAVAILABLE");
    const retryAt = shown?.ended?.retry_at ?? 0;
    assert.ok(retryAt > clock && retryAt <= clock + 1_200, "retried after the backoff");
    assert.equal(await ex.leaseScheduler.sweep(), 0, "not before its retry time");
    clock = retryAt;
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(calls("lift_containment"), 1);
    assert.equal(edr.contained.has(DEVICE), false);
    await settle();
    const reverse = records.filter((r) => r["lease_id"] === lease?.id);
    assert.deepEqual(
      reverse.map((r) => r["status"]),
      ["failed", "succeeded"],
    );
    assert.notEqual(reverse[0]?.["id"], reverse[1]?.["id"], "each attempt its own record");
    assert.deepEqual(await ex.leases.list(0, 10), []);
  });

  test("a lift a retry cannot fix is parked with its error, and a release tries it again", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    const [lease] = await ex.leases.list(0, 10);
    const id = lease?.id ?? "";
    clock += HOUR;
    edr.devices.delete("web-01");
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    const parked = await ex.leases.get(id);
    assert.equal(parked?.status, "failed");
    assert.equal(parked?.ended?.parked, true);
    assert.match(parked?.ended?.error?.message ?? "", /web-01/);
    clock += 24 * HOUR;
    assert.equal(await ex.leaseScheduler.sweep(), 0, "parked: not retried by itself");
    edr.devices.set("web-01", DEVICE);
    assert.equal((await ex.leases.release(id, "ana")).status, "releasing");
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(calls("lift_containment"), 1);
    assert.deepEqual(await ex.leases.list(0, 10), []);
  });

  test("the run died after opening its lease, before completing: the redelivery finds its own lease, no second call", async () => {
    // The store refuses every completion: the first executor's claim stays pending with the lease open.
    const failing = Object.create(state) as MemoryState;
    failing.complete = async () => {
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", "Redis blip");
    };
    const first = executor(failing);
    await assert.rejects(first.handle([msg(decision("d1"))]), /blip/);
    assert.equal(calls("contain"), 1);
    const [lease] = await first.leases.list(0, 10);
    assert.equal(lease?.status, "active");
    // Another executor (nothing of the first in memory) once the dead claim has lapsed.
    clock += 60_000;
    const second = executor();
    await second.handle([msg(decision("d1"))]);
    assert.equal(calls("contain"), 1, "not sent again: the vendor shows it contained");
    await settle();
    const last = records.at(-1);
    assert.equal(last?.["status"], "succeeded");
    assert.equal((last?.["response"] as Record<string, unknown>)["verified"], true);
    assert.equal(
      ((last?.["response"] as Record<string, unknown>)["lease"] as Record<string, unknown>)["id"],
      lease?.id,
    );
    assert.equal((await second.leases.list(0, 10)).length, 1, "still one lease");
  });

  test("the lease store blips after the vendor contained: the lease is taken in place, then lifts once", async () => {
    // The first two attempts at storing the lease fail as a Redis blip would; the third goes through.
    const failing = Object.create(state) as MemoryState;
    let opens = 0;
    failing.leaseOpen = async (...args) => {
      if (++opens <= 2) throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", "Redis leaseOpen failed: blip");
      return state.leaseOpen(...args);
    };
    const ex = executor(failing);
    await ex.handle([msg(decision("d1"))]);
    assert.equal(opens, 3, "retried in place");
    assert.equal(calls("contain"), 1, "one contain call");
    const leases = await ex.leases.list(0, 10);
    assert.equal(leases.length, 1, "one lease");
    assert.equal(leases[0]?.status, "active");
    await settle();
    assert.equal(records.length, 1);
    assert.equal(records[0]?.["status"], "succeeded");
    const lease = (records[0]?.["response"] as Record<string, unknown>)["lease"] as Record<string, unknown>;
    assert.equal(lease["id"], leases[0]?.id, "the audit record names the lease, no 'by hand'");
    assert.equal(lease["error"], undefined);
    clock += HOUR;
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(await ex.leaseScheduler.sweep(), 0);
    assert.equal(calls("lift_containment"), 1, "one release, at the lease's end");
    assert.equal(calls("contain"), 1);
    assert.deepEqual(await ex.leases.list(0, 10), []);
  });

  test("the lease store stays down after the vendor contained: audited for a person, and the target stays held", async () => {
    const failing = Object.create(state) as MemoryState;
    let opens = 0;
    failing.leaseOpen = async () => {
      opens++;
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", "Redis leaseOpen failed: down");
    };
    const ex = executor(failing);
    await ex.handle([msg(decision("d1"))]);
    assert.ok(opens > 1 && opens <= 10, `bounded retries in place (${opens})`);
    assert.equal(calls("contain"), 1);
    await settle();
    assert.equal(records[0]?.["status"], "succeeded", "the vendor did contain it");
    const lease = (records[0]?.["response"] as Record<string, unknown>)["lease"] as Record<string, unknown>;
    assert.match(String(lease["error"]), /could not be stored .*run crowdstrike\.lift_containment by hand/);
    assert.deepEqual(await ex.leases.list(0, 10), []);
    // The hold taken before the call still keeps a second containment of the target out for the lease's TTL.
    await ex.handle([msg(decision("d2"))]);
    await settle();
    assert.equal(records[1]?.["status"], "skipped_lease");
    assert.equal(calls("contain"), 1);
  });

  test("the kill switch does not hold a lift back", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    await ex.guards.setKillSwitch(true, "incident bridge");
    clock += HOUR;
    assert.equal(await ex.leaseScheduler.sweep(), 1);
    assert.equal(calls("lift_containment"), 1);
  });
});
