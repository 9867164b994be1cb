import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RuleFile, type NormalizedEvent } from "../../schemas/index.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import { render } from "../shared/template.ts";
import { RiposteError } from "../shared/errors.ts";
import { normalizeEvent } from "../ingest/normalizers/index.ts";
import { Correlator } from "./correlator.ts";
import { loadLists, loadRules } from "./load.ts";
import { customOperators } from "./operators.ts";
import { RuleSet, type LoadedRule } from "./ruleset.ts";

function suricata(src: string, sid = 1, severity = 1, flow = 1): NormalizedEvent {
  const raw = {
    timestamp: "2026-11-20T09:14:02.118402+0000",
    flow_id: flow,
    event_type: "alert",
    src_ip: src,
    dest_ip: "198.51.100.1",
    proto: "TCP",
    alert: { signature_id: sid, rev: 1, signature: `Sig ${sid}`, category: "Trojan", severity },
  };
  const out = normalizeEvent({ kind: "json", value: raw }, JSON.stringify(raw), { source: "ids", receivedTime: 1 });
  assert.ok(out.ok);
  return out.event;
}

const rule = (over: Record<string, unknown>): LoadedRule => ({
  rule: RuleFile.parse({
    id: "r1",
    version: 1,
    name: "R1",
    match: { all: [{ fact: "severity_id", operator: "greaterThanInclusive", value: 4 }] },
    ...over,
  }),
  hash: "h",
  file: "r1.yaml",
});

function correlator(rules: LoadedRule[], state = new MemoryState()) {
  return new Correlator({
    bus: new MemoryBus(),
    state,
    topics: topicNames("c"),
    rules: new RuleSet(rules, new Map()),
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "c",
    dedupWindowMs: 60_000,
    now: () => 5,
  });
}

describe("correlator", () => {
  test("the shipped rules load and the isolate rule matches an internal high-severity Suricata alert only", async () => {
    const lists = await loadLists("rules");
    const set = new RuleSet(await loadRules("rules", lists), lists);
    assert.deepEqual(
      (await set.evaluate(suricata("10.20.4.17"))).map((r) => r.rule.id),
      ["network-ids-internal-host-isolate"],
    );
    assert.deepEqual(
      (await set.evaluate(suricata("203.0.113.9"))).map((r) => r.rule.id),
      ["external-ip-multi-sensor-block-ip"],
      "external source: only the multi-sensor correlation looks at it",
    );
    assert.equal((await set.evaluate(suricata("10.20.4.17", 1, 3))).length, 0, "low severity");
    assert.equal((await set.evaluate(suricata("10.0.0.1"))).length, 0, "never-isolate list");
  });

  test("decision ids are deterministic: the same alert redelivered decides the same, a re-sent alert is a duplicate", async () => {
    const c = correlator([
      rule({ decision: { playbook: "p", target: { type: "host", value: "{{src_endpoint.ip}}" } } }),
    ]);
    const e = suricata("10.1.1.1");
    const [first] = await c.decide(e, "p0/1");
    const [redelivered] = await c.decide(e, "p0/1");
    assert.equal(first?.outcome, "respond");
    assert.deepEqual(redelivered, first);
    assert.deepEqual(first?.target, { type: "host", value: "10.1.1.1" });
    const [dup] = await c.decide(e, "p0/2");
    assert.equal(dup?.outcome, "duplicate");
  });

  test("rule dedup groups by its fields within the window; a missing field is suppressed with a reason", async () => {
    const c = correlator([
      rule({
        dedup: { fields: ["src_endpoint.ip", "finding_info.analytic.uid"], window: "1h" },
        decision: { playbook: "p", target: { type: "host", value: "{{src_endpoint.ip}}" } },
      }),
    ]);
    const [a] = await c.decide(suricata("10.1.1.1", 7, 1, 1), "d1");
    const [b] = await c.decide(suricata("10.1.1.1", 7, 1, 2), "d2");
    const [other] = await c.decide(suricata("10.1.1.2", 7, 1, 3), "d3");
    assert.deepEqual([a?.outcome, b?.outcome, other?.outcome], ["respond", "suppressed", "respond"]);
    assert.match(String(b?.reason), /rule dedup/);
    const noIp = correlator([rule({ dedup: { fields: ["user.name"], window: "1h" } })]);
    const [m] = await noIp.decide(suricata("10.1.1.1"), "d4");
    assert.equal(m?.outcome, "suppressed");
  });

  test("no matching rule is recorded as no_match", async () => {
    const [d] = await correlator([rule({})]).decide(suricata("10.1.1.1", 1, 3), "x");
    assert.equal(d?.outcome, "no_match");
  });

  test("a target template naming a missing field suppresses instead of acting on nothing", async () => {
    const c = correlator([
      rule({ decision: { playbook: "p", target: { type: "host", value: "{{device.hostname}}" } } }),
    ]);
    const [d] = await c.decide(suricata("10.1.1.1"), "x");
    assert.equal(d?.outcome, "suppressed");
    assert.match(String(d?.reason), /device.hostname is missing/);
  });
});

test("an unexpected correlation failure dead-letters the event instead of blocking the partition; outages are retried", async () => {
  const bus = new MemoryBus();
  const topics = topicNames("fail");
  await bus.ensureTopics([topics.decisions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const got: string[] = [];
  const sub = await bus.subscribe({
    groupId: "g",
    topics: [topics.dlq],
    handler: async (b) => void got.push(...b.map((m) => m.value.toString())),
  });
  const state = new MemoryState();
  const make = (err: Error) => {
    state.lookup = async () => {
      throw err;
    };
    return new Correlator({
      bus,
      state,
      topics,
      rules: new RuleSet([], new Map()),
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "f",
      dedupWindowMs: 1_000,
    });
  };
  const e = suricata("10.9.9.9");
  const msg = {
    topic: "n",
    partition: 0,
    offset: "7",
    key: "k",
    value: Buffer.from(JSON.stringify(e)),
    headers: {},
    timestamp: 0,
  };
  await make(new TypeError("bug")).handle([msg]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(got.length, 1);
  assert.match(got[0] ?? "", /RIPOSTE_CORRELATION_FAILED/);
  await assert.rejects(make(new RiposteError("RIPOSTE_STATE_UNAVAILABLE", "redis down")).handle([msg]), /redis down/);
  await sub.stop();
  await bus.close();
});

test("incident grouping never holds a decision back: a failure drops the grouping, an outage is retried", async () => {
  const state = new MemoryState();
  const c = new Correlator({
    bus: new MemoryBus(),
    state,
    topics: topicNames("g"),
    rules: new RuleSet([rule({})], new Map()),
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "g",
    dedupWindowMs: 1_000,
    incidents: { windowMs: 60_000, retentionMs: 60_000 },
  });
  const ok = await c.outcome(suricata("10.4.4.4"), "g/0/1");
  assert.equal(ok.decisions[0]?.outcome, "respond");
  assert.equal(ok.incidents.length, 1);
  state.incidentFind = async () => {
    throw new TypeError("bug");
  };
  const broken = await c.outcome(suricata("10.4.4.5"), "g/0/2");
  assert.equal(broken.decisions[0]?.outcome, "respond", "the decision goes out");
  assert.deepEqual(broken.incidents, []);
  state.incidentFind = async () => {
    throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", "redis down");
  };
  await assert.rejects(c.outcome(suricata("10.4.4.6"), "g/0/3"), /redis down/);
});

describe("operators and templates", () => {
  const ops = customOperators(new Map([["iocs", new Set(["evil.example", "198.51.100.66"])]]));
  test("cidr, wildcard, regex, containsi, inList, exists", () => {
    assert.ok(ops["cidr"]?.("10.2.3.4", ["10.0.0.0/8"]));
    assert.ok(!ops["cidr"]?.("11.2.3.4", ["10.0.0.0/8"]));
    assert.ok(ops["cidr"]?.("2001:db8::1", ["2001:db8::/32"]));
    assert.ok(!ops["cidr"]?.("not-an-ip", ["10.0.0.0/8"]));
    assert.ok(ops["wildcard"]?.("C:\\Windows\\Temp\\x.EXE", "c:\\windows\\temp\\*.exe"));
    assert.ok(ops["regex"]?.(["a", "mimikatz.exe"], "^mimi"));
    assert.ok(ops["containsi"]?.("Invoke-MIMIKATZ", "mimikatz"));
    assert.ok(ops["inList"]?.("Evil.Example", "iocs"));
    assert.ok(!ops["inList"]?.("good.example", "iocs"));
    assert.ok(ops["exists"]?.("x", true) && ops["exists"]?.(undefined, false));
  });
  test("templates render paths and refuse missing ones", () => {
    assert.equal(render("{{ a.b }}", { a: { b: 3 } }), 3);
    assert.equal(render("host {{a.b}}!", { a: { b: "x" } }), "host x!");
    assert.throws(() => render("{{a.c}}", { a: {} }), /a.c is missing/);
  });
  test("rule files cannot carry code: JSONPath filters and unknown operators are refused", () => {
    const bad = (match: unknown) => RuleFile.safeParse({ id: "x", version: 1, name: "x", match }).success;
    assert.equal(bad({ all: [{ fact: "event", path: "$..[?(@.x)]", operator: "equal", value: 1 }] }), false);
    assert.equal(bad({ all: [{ fact: "event", operator: "eval", value: "process.exit()" }] }), false);
    assert.equal(bad({ all: [{ fact: "severity_id", operator: "equal", value: 1 }] }), true);
  });
});
