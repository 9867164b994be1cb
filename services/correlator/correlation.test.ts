/** The starter correlation rules on normalized events of the real formats, through the correlator on memory state. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Correlation, RuleFile, type Decision, type NormalizedEvent } from "../../schemas/index.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import {
  Correlator,
  RuleSet,
  correlationProblems,
  loadLists,
  loadRules,
  needs,
  plan,
  type LoadedRule,
} from "./index.ts";
import { at, cef, entra, okta, suricata } from "./testing.ts";

const lists = await loadLists("rules");
const shipped = await loadRules("rules", lists);

function correlator(rules: readonly LoadedRule[] = shipped, metrics = new Metrics()) {
  return new Correlator({
    bus: new MemoryBus(),
    state: new MemoryState(),
    topics: topicNames("corr"),
    rules: new RuleSet(rules, lists),
    log: silentLogger,
    metrics,
    statePrefix: "corr",
    dedupWindowMs: 86_400_000,
    latenessMs: 300_000,
    now: () => 1,
  });
}

/** Decides each event in turn (one delivery each) and returns every decision. */
async function run(c: Correlator, events: readonly NormalizedEvent[]): Promise<Decision[]> {
  const out: Decision[] = [];
  for (const [i, e] of events.entries()) out.push(...(await c.decide(e, `n/0/${i}`)));
  return out;
}

const responses = (ds: readonly Decision[], rule: string) =>
  ds.filter((d) => d.outcome === "respond" && d.rule?.id === rule);

const BRUTE = "signin-brute-force-then-success-revoke-sessions";
const SPRAY = "signin-password-spray-block-ip";
const SENSORS = "external-ip-multi-sensor-block-ip";
const COUNTRY = "signin-new-country-notify";

describe("starter correlation rules", () => {
  test("the shipped rules load and their cross-references hold", () => {
    assert.deepEqual(correlationProblems(shipped), []);
    for (const id of [BRUTE, SPRAY, SENSORS, COUNTRY, "signin-failed", "signin-succeeded"])
      assert.ok(
        shipped.some((r) => r.rule.id === id),
        id,
      );
  });

  test("brute force then success: 5 failures then a success for one user (Okta and Entra) revokes that user's sessions", async () => {
    const user = "alice@example.com";
    const events = [
      okta({ user, ok: false, minute: 0 }),
      okta({ user, ok: false, minute: 1 }),
      entra({ user: "Alice@Example.com", ok: false, minute: 2 }),
      okta({ user, ok: false, minute: 3 }),
      entra({ user: "ALICE@example.com", ok: false, minute: 4 }),
      entra({ user: "Alice@Example.com", ok: true, minute: 6 }),
    ];
    const ds = await run(correlator(), events);
    const [d, ...more] = responses(ds, BRUTE);
    assert.equal(more.length, 0);
    assert.equal(d?.playbook, "revoke-user-sessions");
    assert.deepEqual(d?.target, { type: "user", value: user });
    assert.deepEqual(d?.correlation, {
      type: "temporal_ordered",
      group: { user },
      window: { start: at(0), end: at(6) },
      count: 6,
    });
    assert.deepEqual(
      d?.alert_ids,
      events.map((e) => e.metadata.uid),
    );
    assert.match(String(d?.rule?.hash), /^[0-9a-f]{64}$/);
    assert.equal(d?.rule?.version, 1);
    const before = ds.slice(0, 5);
    assert.ok(
      before.every((x) => x.outcome === "no_match"),
      "the failures alone decide nothing",
    );
    assert.match(String(before[4]?.reason), /signin-failed 5\/5, signin-succeeded 0\/1/);
  });

  test("a correlation's decision links to the span that decided each alert it stands on (kept in the window)", async () => {
    const user = "alice@example.com";
    const events = [0, 1, 2, 3, 4].map((minute) => okta({ user, ok: false, minute }));
    events.push(okta({ user, ok: true, minute: 6 }));
    const spanOf = (i: number) => ({
      traceId: `${String(i + 1).padStart(2, "0")}${"a".repeat(30)}`,
      spanId: `${i}`.repeat(16),
    });
    const decideAll = async (c: Correlator, spans: boolean) => {
      const out: Decision[] = [];
      for (const [i, e] of events.entries()) {
        const s = spans ? spanOf(i) : undefined;
        out.push(...(await c.decide(e, `n/0/${i}`, s?.traceId, s?.spanId)));
      }
      return out;
    };
    const c = correlator();
    const [d] = responses(await decideAll(c, true), BRUTE);
    assert.ok(d);
    assert.deepEqual(
      d.links,
      [0, 1, 2, 3, 4].map((i) => ({ trace_id: spanOf(i).traceId, span_id: spanOf(i).spanId })),
      "the five failures, oldest first; the deciding success is the decision's own trace",
    );
    // A redelivery of the deciding alert (another span) decides the same, with the same links.
    const [again] = responses(
      await c.decide(events[5] as NormalizedEvent, "n/0/5", "ff".repeat(16), "e".repeat(16)),
      BRUTE,
    );
    assert.equal(again?.id, d.id);
    assert.deepEqual(again?.links, d.links);
    const [untraced] = responses(await decideAll(correlator(), false), BRUTE);
    assert.equal(untraced?.id, d.id, "the same decision without spans");
    assert.equal(untraced?.links, undefined, "and no links when nothing is traced");
  });

  test("brute force: 4 failures, a success first, another user, or more than 10 minutes decide nothing", async () => {
    const fails = (user: string, minutes: number[]) => minutes.map((m) => okta({ user, ok: false, minute: m }));
    const cases: Array<[string, NormalizedEvent[]]> = [
      [
        "4 failures",
        [...fails("bob@example.com", [0, 1, 2, 3]), okta({ user: "bob@example.com", ok: true, minute: 4 })],
      ],
      [
        "success before the failures",
        [okta({ user: "carol@example.com", ok: true, minute: 0 }), ...fails("carol@example.com", [1, 2, 3, 4, 5])],
      ],
      [
        "failures of another user",
        [...fails("dave@example.com", [0, 1, 2, 3, 4]), okta({ user: "erin@example.com", ok: true, minute: 5 })],
      ],
      [
        "over 11 minutes",
        [...fails("frank@example.com", [0, 1, 2, 3, 4]), okta({ user: "frank@example.com", ok: true, minute: 11 })],
      ],
    ];
    for (const [what, events] of cases) assert.equal(responses(await run(correlator(), events), BRUTE).length, 0, what);
  });

  test("password spray: one source IP failing for 10 distinct users within 10 minutes blocks it, once", async () => {
    const ip = "198.51.100.23";
    const events = Array.from({ length: 12 }, (_, i) =>
      (i % 2 ? okta : entra)({ user: `user${i % 11}@example.com`, ok: false, minute: i * 0.5, ip }),
    );
    const ds = await run(correlator(), events);
    const fired = responses(ds, SPRAY);
    assert.equal(fired.length, 1);
    assert.deepEqual(fired[0]?.target, { type: "ip", value: ip });
    assert.equal(fired[0]?.correlation?.type, "value_count");
    assert.equal(fired[0]?.correlation?.values?.length, 10);
    assert.equal(fired[0]?.alert.uid, events[9]?.metadata.uid, "the 10th user's failure fires");
  });

  test("password spray: 9 users, or 10 users over 20 minutes, decide nothing", async () => {
    const nine = Array.from({ length: 9 }, (_, i) =>
      okta({ user: `u${i}@example.com`, ok: false, minute: i, ip: "198.51.100.24" }),
    );
    assert.equal(responses(await run(correlator(), nine), SPRAY).length, 0, "9 users");
    const slow = Array.from({ length: 10 }, (_, i) =>
      okta({ user: `v${i}@example.com`, ok: false, minute: i * 2.2, ip: "198.51.100.25" }),
    );
    assert.equal(responses(await run(correlator(), slow), SPRAY).length, 0, "10 users over 20 minutes");
  });

  test("one external IP reported by an IDS and a firewall within 30 minutes is blocked; one sensor or an internal IP is not", async () => {
    const ds = await run(correlator(), [suricata("198.51.100.7", 0), cef("198.51.100.7", 25)]);
    const [d, ...more] = responses(ds, SENSORS);
    assert.equal(more.length, 0);
    assert.deepEqual(d?.target, { type: "ip", value: "198.51.100.7" });
    assert.deepEqual(d?.correlation?.values, ["suricata_eve", "cef"]);
    const one = await run(correlator(), [suricata("198.51.100.8", 0, 1), suricata("198.51.100.8", 1, 2)]);
    assert.equal(responses(one, SENSORS).length, 0, "one sensor format");
    const late = await run(correlator(), [suricata("198.51.100.9", 0), cef("198.51.100.9", 31)]);
    assert.equal(responses(late, SENSORS).length, 0, "31 minutes apart");
    const internal = await run(correlator(), [suricata("10.1.2.3", 0), cef("10.1.2.3", 1)]);
    assert.equal(responses(internal, SENSORS).length, 0, "internal address");
  });

  test("a successful sign-in from a new country notifies; the same country again does not; a failure never does", async () => {
    const user = "grace@example.com";
    const ds = await run(correlator(), [
      okta({ user, ok: true, minute: 0, country: "France" }),
      okta({ user, ok: true, minute: 60, country: "France" }),
      okta({ user, ok: false, minute: 90, country: "Brazil" }),
      okta({ user, ok: true, minute: 120, country: "Japan" }),
    ]);
    const fired = responses(ds, COUNTRY);
    assert.deepEqual(
      fired.map((d) => d.correlation?.values),
      [["france"], ["japan"]],
    );
    assert.equal(fired[1]?.playbook, "notify");
    assert.deepEqual(fired[1]?.target, { type: "user", value: user });
  });

  test("an event later than the allowed lateness is decided alone and counted", async () => {
    const metrics = new Metrics();
    const c = correlator(shipped, metrics);
    const user = "heidi@example.com";
    const ds = await run(c, [
      ...[20, 21, 22, 23].map((m) => okta({ user, ok: false, minute: m })),
      okta({ user, ok: false, minute: 10 }),
      okta({ user, ok: true, minute: 24 }),
    ]);
    assert.equal(responses(ds, BRUTE).length, 0, "the late failure did not count");
    assert.match(String(ds[4]?.reason), /late: the event time is 780000 ms behind/);
    assert.equal(metrics.get("correlator_late_total"), 2, "brute force and spray both refused it");
  });

  test("an event out of order within the lateness still completes its window", async () => {
    const user = "ivan@example.com";
    const ds = await run(correlator(), [
      ...[0, 1, 2, 4].map((m) => okta({ user, ok: false, minute: m })),
      okta({ user, ok: true, minute: 5 }),
      okta({ user, ok: false, minute: 3 }),
    ]);
    const [d] = responses(ds, BRUTE);
    assert.ok(d, "the late failure at minute 3 completes the sequence");
    assert.deepEqual(d.correlation?.window, { start: at(0), end: at(5) });
  });
});

describe("replay and dedup", () => {
  const user = "judy@example.com";
  const input = [
    ...[0, 1, 2, 3, 4].map((m) => okta({ user, ok: false, minute: m })),
    okta({ user, ok: true, minute: 5 }),
    suricata("198.51.100.30", 0),
    cef("198.51.100.30", 3),
  ];

  test("replaying the same input twice gives identical decision ids", async () => {
    const a = await run(correlator(), input);
    const b = await run(correlator(), input);
    assert.deepEqual(
      a.map((d) => d.id),
      b.map((d) => d.id),
    );
    assert.equal(responses(a, BRUTE).length + responses(a, SENSORS).length, 2);
  });

  test("an exact re-send is a duplicate with no second decision; a redelivery decides the same", async () => {
    const c = correlator();
    const first = await run(c, input);
    const again: Decision[] = [];
    for (const [i, e] of input.entries()) again.push(...(await c.decide(e, `n/0/${i}`)));
    assert.deepEqual(again, first, "a redelivered message decides as it did");
    const resent: Decision[] = [];
    for (const [i, e] of input.entries()) resent.push(...(await c.decide(e, `n/1/${i}`)));
    assert.ok(
      resent.every((d) => d.outcome === "duplicate"),
      JSON.stringify(resent.map((d) => d.outcome)),
    );
  });

  test("an alert updated in place (higher severity, new status) is evaluated again", async () => {
    const high: LoadedRule = {
      rule: RuleFile.parse({
        id: "graph-high",
        version: 1,
        name: "High Graph alert",
        match: { all: [{ fact: "severity_id", operator: "greaterThanInclusive", value: 4 }] },
        decision: { playbook: "notify", target: { type: "user", value: "{{user.name}}" } },
      }),
      hash: "h",
      file: "graph-high.yaml",
    };
    const { PARTIAL_IDENTITY } = await import("../ingest/normalizers/fixtures/graph.ts");
    const { normalizeEvent } = await import("../ingest/normalizers/index.ts");
    const graph = (v: Record<string, unknown>, received: number) => {
      const out = normalizeEvent({ kind: "json", value: v }, JSON.stringify(v), {
        source: "graph",
        receivedTime: received,
      });
      assert.ok(out.ok);
      return out.event;
    };
    const c = correlator([high]);
    const [medium] = await c.decide(graph(PARTIAL_IDENTITY, 1), "g/0/1");
    const [resent] = await c.decide(graph(PARTIAL_IDENTITY, 2), "g/0/2");
    const updated = graph({ ...PARTIAL_IDENTITY, severity: "high", status: "inProgress" }, 3);
    const [update] = await c.decide(updated, "g/0/3");
    const [resentUpdate] = await c.decide(updated, "g/0/4");
    assert.deepEqual(
      [medium?.outcome, resent?.outcome, update?.outcome, resentUpdate?.outcome],
      ["no_match", "duplicate", "respond", "duplicate"],
    );
  });
});

describe("correlation schema and cross-references", () => {
  test("each type requires its own fields and refuses the others'", () => {
    const ok = (c: unknown) => Correlation.safeParse(c).success;
    const g = { group_by: ["user.name"] };
    assert.ok(ok({ ...g, type: "event_count", timespan: "5m", condition: { gte: 3 } }));
    assert.ok(!ok({ ...g, type: "event_count", timespan: "5m" }), "no threshold");
    assert.ok(!ok({ ...g, type: "event_count", condition: { gte: 3 } }), "no timespan");
    assert.ok(!ok({ ...g, type: "event_count", timespan: "0s", condition: { gte: 3 } }), "zero timespan");
    assert.ok(!ok({ ...g, type: "value_count", timespan: "5m", condition: { gte: 3 } }), "no field");
    assert.ok(ok({ ...g, type: "temporal", timespan: "5m", rules: ["a", { rule: "b", gte: 2 }] }));
    assert.ok(!ok({ ...g, type: "temporal", timespan: "5m", rules: ["a"] }), "one rule");
    assert.ok(ok({ ...g, type: "new_terms", field: "src_endpoint.location.country", history: "30d" }));
    assert.ok(
      !ok({ ...g, type: "new_terms", field: "x", history: "30d", timespan: "5m" }),
      "new_terms has no timespan",
    );
    assert.ok(!ok({ type: "event_count", group_by: [], timespan: "5m", condition: { gte: 1 } }), "no group");
    const parsed = Correlation.parse({
      type: "event_count",
      group_by: ["user.name", { field: "ip", from: ["src_endpoint.ip", "device.ip"] }],
      timespan: "5m",
      condition: { gte: 3 },
    });
    assert.deepEqual(parsed.group_by, [
      { field: "user.name", from: ["user.name"] },
      { field: "ip", from: ["src_endpoint.ip", "device.ip"] },
    ]);
  });

  test("missing, self and correlation inputs, and unused or deciding non-emitting rules are refused at construction", () => {
    const r = (over: Record<string, unknown>): LoadedRule => ({
      rule: RuleFile.parse({
        version: 1,
        name: "x",
        match: { all: [{ fact: "class_uid", operator: "equal", value: 3002 }] },
        ...over,
      }),
      hash: "h",
      file: `${String(over["id"])}.yaml`,
    });
    const temporal = (rules: string[]) => ({ type: "temporal", group_by: ["user.name"], timespan: "5m", rules });
    const rules = [
      r({ id: "t1", correlation: temporal(["t1", "nope"]) }),
      r({ id: "t2", correlation: temporal(["t1", "in"]) }),
      r({ id: "in", generate: false }),
      r({ id: "unused", generate: false }),
      r({ id: "loud", generate: false, decision: { playbook: "p", target: { type: "user", value: "x" } } }),
    ];
    assert.deepEqual(correlationProblems(rules), [
      "t1.yaml: correlation.rules names the rule itself",
      't1.yaml: correlation.rules names "nope", which is not a loaded (enabled) rule',
      't2.yaml: correlation.rules names "t1", a correlation rule; only plain rules can be inputs',
      'unused.yaml: generate is false but no temporal correlation names "unused" and its score is 0: it would do nothing',
      "loud.yaml: generate is false, so its decision would never be made: remove one of them",
      'loud.yaml: generate is false but no temporal correlation names "loud" and its score is 0: it would do nothing',
    ]);
    assert.throws(() => correlator(rules), /RIPOSTE_RULE_INVALID|invalid rule files/);
  });
});

describe("plan is pure", () => {
  const ctx = {
    statePrefix: "p",
    dedupWindowMs: 86_400_000,
    latenessMs: 300_000,
    riskHalfLifeMs: 3_600_000,
    now: 7,
    delivery: "n/0/1",
  };
  const failed = okta({ user: "kim@example.com", ok: false, minute: 0 });
  const matchedOf = (e: NormalizedEvent) => new RuleSet(shipped, lists).evaluate(e);

  test("an empty snapshot gives a dedup record and one window append per correlation, and no I/O", async () => {
    const matched = await matchedOf(failed);
    const want = needs(failed, matched, ctx);
    assert.equal(want.lookups.length, 2, "this bucket and the one before");
    assert.equal(want.timelines.length, 3, "brute force, spray and the entity's risk");
    const p = plan(failed, matched, { lookups: [undefined, undefined], timelines: new Map() }, ctx);
    assert.equal(p.verdict, "new");
    assert.deepEqual(
      p.ops.map((o) => o.op),
      ["record", "append", "append"],
    );
    assert.deepEqual(plan(failed, matched, { lookups: [undefined, undefined], timelines: new Map() }, ctx), p);
  });

  test("a recorded digest from another delivery makes a duplicate with no operations", async () => {
    const matched = await matchedOf(failed);
    const first = plan(failed, matched, { lookups: [undefined, undefined], timelines: new Map() }, ctx);
    const record = first.ops[0];
    assert.ok(record?.op === "record");
    const again = plan(failed, matched, { lookups: [undefined, record.value], timelines: new Map() }, ctx);
    assert.equal(again.verdict, "redelivery", "same delivery");
    const dup = plan(
      failed,
      matched,
      { lookups: [record.value, undefined], timelines: new Map() },
      { ...ctx, delivery: "n/0/2" },
    );
    assert.equal(dup.verdict, "duplicate");
    assert.deepEqual(dup.ops, []);
    assert.equal(dup.decisions[0]?.outcome, "duplicate");
  });
});

describe("entity risk", () => {
  const plain = (id: string, sid: number, over: Record<string, unknown> = {}): LoadedRule => ({
    rule: RuleFile.parse({
      id,
      version: 1,
      name: id,
      match: { all: [{ fact: "finding_info", path: "$.analytic.uid", operator: "equal", value: String(sid) }] },
      ...over,
    }),
    hash: "h",
    file: `${id}.yaml`,
  });
  const rules = [
    plain("recon", 1, { score: 40, generate: false }),
    plain("exploit", 2, { score: 30, generate: false }),
    {
      ...plain("risky-ip", 0),
      rule: RuleFile.parse({
        id: "risky-ip",
        version: 1,
        name: "Risky address",
        match: { all: [{ fact: "class_uid", operator: "equal", value: 2004 }] },
        risk: { gte: 60 },
        decision: { playbook: "block-ip", target: { type: "ip", value: "{{src_endpoint.ip}}" } },
      }),
    },
  ];

  test("scores add up per entity, halve every half-life in event time, and a risk rule fires at its threshold", async () => {
    const c = new Correlator({
      bus: new MemoryBus(),
      state: new MemoryState(),
      topics: topicNames("risk"),
      rules: new RuleSet(rules, lists),
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "risk",
      dedupWindowMs: 86_400_000,
      riskHalfLifeMs: 3_600_000,
      now: () => 1,
    });
    const ip = "198.51.100.77";
    const [a] = await c.decide(suricata(ip, 0, 1), "r/0/1");
    const [b] = await c.decide(suricata(ip, 60, 2), "r/0/2");
    const third = suricata(ip, 60, 1);
    const [d] = await c.decide(third, "r/0/3");
    assert.deepEqual([a?.outcome, a?.risk?.score], ["no_match", 40]);
    assert.match(String(a?.reason), /risky-ip: the entity's risk 40 is below 60/);
    assert.deepEqual([b?.outcome, b?.risk?.score], ["no_match", 50], "40 halved after an hour, plus 30");
    assert.equal(d?.outcome, "respond");
    assert.equal(d?.rule?.id, "risky-ip");
    assert.deepEqual(d?.risk, {
      entity: `ip:${ip}`,
      score: 90,
      contributors: [
        { rule: "recon", alert: d?.alert.uid, score: 40 },
        { rule: "exploit", alert: b?.alert.uid, score: 30 },
        { rule: "recon", alert: a?.alert.uid, score: 20 },
      ],
    });
    assert.deepEqual(await c.decide(third, "r/0/3"), [d], "a redelivery counts its contributions once");
  });
});

describe("event_count and temporal", () => {
  const byHost = (id: string, correlation: Record<string, unknown>, sid?: number): LoadedRule => ({
    rule: RuleFile.parse({
      id,
      version: 1,
      name: id,
      match: sid
        ? { all: [{ fact: "finding_info", path: "$.analytic.uid", operator: "equal", value: String(sid) }] }
        : { all: [{ fact: "class_uid", operator: "equal", value: 2004 }] },
      ...(Object.keys(correlation).length > 0
        ? { correlation, decision: { playbook: "p", target: { type: "ip", value: "{{correlation.group.ip}}" } } }
        : { generate: false }),
    }),
    hash: "h",
    file: `${id}.yaml`,
  });

  test("event_count fires at the threshold, then needs a fresh set of events", async () => {
    const rule = byHost("burst", {
      type: "event_count",
      group_by: [{ field: "ip", from: ["src_endpoint.ip"] }],
      timespan: "5m",
      condition: { gte: 3 },
    });
    const ds = await run(
      correlator([rule]),
      [0, 1, 2, 3, 4, 4.5, 20].map((m) => suricata("198.51.100.90", m)),
    );
    assert.deepEqual(
      ds.map((d) => d.outcome),
      ["no_match", "no_match", "respond", "no_match", "no_match", "respond", "no_match"],
    );
    assert.deepEqual(ds[2]?.correlation, {
      type: "event_count",
      group: { ip: "198.51.100.90" },
      window: { start: at(0), end: at(2) },
      count: 3,
    });
    assert.notEqual(ds[2]?.id, ds[5]?.id);
  });

  test("temporal fires when every named rule matched for the group within the timespan, in any order", async () => {
    const rules = [
      byHost("scan", {}, 11),
      byHost("exploit", {}, 12),
      byHost("scan-and-exploit", {
        type: "temporal",
        group_by: [{ field: "ip", from: ["src_endpoint.ip"] }],
        timespan: "10m",
        rules: ["scan", "exploit"],
      }),
    ];
    const ds = await run(correlator(rules), [suricata("198.51.100.91", 0, 12), suricata("198.51.100.91", 5, 11)]);
    assert.deepEqual(
      ds.map((d) => d.outcome),
      ["no_match", "respond"],
    );
    assert.deepEqual(ds[1]?.correlation?.count, 2);
    const apart = await run(correlator(rules), [suricata("198.51.100.92", 0, 12), suricata("198.51.100.92", 11, 11)]);
    assert.deepEqual(
      apart.map((d) => d.outcome),
      ["no_match", "no_match"],
      "11 minutes apart",
    );
  });
});
