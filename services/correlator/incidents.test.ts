import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { INCIDENT_LIMITS, type Decision, type Incident, type NormalizedEvent } from "../../schemas/index.ts";
import { stableId } from "../shared/ids.ts";
import { incidentEntities, openingIds, planIncident, type IncidentContext } from "./incidents.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const ctx: IncidentContext = { windowMs: 24 * HOUR, retentionMs: 30 * 24 * HOUR, now: 42 };

interface AlertSpec {
  uid: string;
  time?: number;
  host?: string;
  user?: string;
  severity?: number;
  ip?: string;
}

/** A Detection Finding as the normalizers write one, naming a host and/or a user. */
function alert(s: AlertSpec): NormalizedEvent {
  const entity = s.host ? `host:${s.host.toLowerCase()}` : s.user ? `user:${s.user.toLowerCase()}` : `ip:${s.ip}`;
  return {
    activity_id: 1,
    category_uid: 2,
    category_name: "Findings",
    class_name: "Detection Finding",
    class_uid: 2004,
    type_uid: 200401,
    time: s.time ?? T0,
    severity_id: s.severity ?? 3,
    severity: "Medium",
    metadata: { version: "1.5.0", product: { name: "EDR", vendor_name: "V" } },
    finding_info: { uid: s.uid, title: `alert ${s.uid}` },
    ...(s.host ? { device: { hostname: s.host } } : {}),
    ...(s.user ? { actor: { user: { name: s.user } } } : {}),
    ...(s.ip ? { src_endpoint: { ip: s.ip } } : {}),
    riposte: { source: "edr", format: "test", received_time: 1, entity_key: entity, fingerprint: `fp-${s.uid}` },
  };
}

function respond(event: NormalizedEvent, rule: string, score: number, playbook = "isolate-host"): Decision {
  return {
    id: stableId("d", rule, event.riposte.fingerprint),
    outcome: "respond",
    time: 1000,
    alert: {
      uid: String((event as { finding_info?: { uid: string } }).finding_info?.uid),
      fingerprint: event.riposte.fingerprint,
      entity_key: event.riposte.entity_key,
      class_uid: event.class_uid,
      title: "t",
      source: "edr",
      severity_id: event.severity_id,
      time: event.time,
    },
    rule: { id: rule, version: 1, hash: "h", name: rule },
    score,
    playbook,
  };
}

/** Plans a stream of events against maps standing for the store, as the correlator saves them. */
function run(events: ReadonlyArray<NormalizedEvent | [NormalizedEvent, Decision[]]>, c = ctx) {
  const links = new Map<string, string>();
  const docs = new Map<string, Incident>();
  const published: Incident[] = [];
  for (const item of events) {
    const [event, decisions] = Array.isArray(item) ? item : [item, []];
    const p = planIncident(event, decisions, { links, docs }, c);
    if (!p) continue;
    for (const i of p.changed) {
      const before = docs.get(i.id);
      assert.equal(i.version, (before?.version ?? 0) + 1, "every change is the next version");
      docs.set(i.id, i);
    }
    for (const l of p.links) links.set(l.entity, l.id);
    published.push(...p.changed);
  }
  return { links, docs, published, open: [...docs.values()].filter((d) => d.status !== "merged") };
}

describe("incident planning", () => {
  test("alerts about the same host group into one incident whose id comes from the first alert", () => {
    const a = alert({ uid: "a1", host: "WS-1", severity: 3 });
    const b = alert({ uid: "a2", host: "ws-1", time: T0 + HOUR, severity: 5 });
    const { open } = run([a, [b, [respond(b, "edr-malware", 70)]]]);
    assert.equal(open.length, 1);
    const inc = open[0] as Incident;
    assert.equal(inc.id, stableId("incident", "a1"));
    assert.deepEqual(inc.alert_ids, ["a1", "a2"]);
    assert.equal(inc.alert_count, 2);
    assert.deepEqual(inc.entities, ["host:ws-1"]);
    assert.equal(inc.severity_id, 5);
    assert.equal(inc.severity, "Critical");
    assert.equal(inc.score, 70, "the decision's score beats severity × 10");
    assert.equal(inc.decisions.length, 1);
    assert.equal(inc.decisions[0]?.rule, "edr-malware");
    assert.equal(inc.decisions[0]?.playbook, "isolate-host");
    assert.equal(inc.first_seen, T0);
    assert.equal(inc.last_seen, T0 + HOUR);
    assert.equal(inc.version, 2);
    assert.equal(inc.status, "open");
  });

  test("an alert naming a user and a host links them: the user's later alerts join the host's incident", () => {
    const both = alert({ uid: "b1", host: "fin-ws-042", user: "J.Doe" });
    assert.deepEqual(incidentEntities(both), ["host:fin-ws-042", "user:j.doe"]);
    const userOnly = alert({ uid: "b2", user: "j.doe", time: T0 + 2 * HOUR });
    const { open } = run([both, userOnly]);
    assert.equal(open.length, 1);
    assert.deepEqual(open[0]?.alert_ids, ["b1", "b2"]);
    assert.deepEqual(open[0]?.entities, ["host:fin-ws-042", "user:j.doe"]);
  });

  test("an alert linking entities of two open incidents merges them into the older one, deterministically", () => {
    const host = alert({ uid: "c1", host: "ws-9", time: T0 });
    const user = alert({ uid: "c2", user: "mallory", time: T0 + HOUR });
    const link = alert({ uid: "c3", host: "ws-9", user: "mallory", time: T0 + 2 * HOUR });
    const { docs, open, published, links } = run([host, user, link]);
    assert.equal(open.length, 1);
    const kept = open[0] as Incident;
    const older = stableId("incident", "c1");
    const younger = stableId("incident", "c2");
    assert.equal(kept.id, older, "the older incident's id is kept");
    assert.deepEqual(kept.merged_from, [younger]);
    assert.deepEqual(kept.alert_ids, ["c1", "c2", "c3"]);
    assert.equal(kept.alert_count, 3);
    assert.deepEqual([...kept.entities].sort(), ["host:ws-9", "user:mallory"]);
    assert.ok(kept.history.some((h) => h.field === "merged" && h.from === younger && h.to === older));
    const merged = docs.get(younger) as Incident;
    assert.equal(merged.status, "merged");
    assert.equal(merged.merged_into, older);
    assert.equal(links.get("user:mallory"), older, "the merged incident's entities now point to the kept one");
    assert.deepEqual(
      published.slice(-2).map((i) => i.id),
      [older, younger],
      "both changes are published, the kept incident first",
    );
    // The same stream, planned again from nothing, gives the same incidents (replay).
    const again = run([host, user, link]);
    assert.deepEqual(
      again.published.map((i) => [i.id, i.version, i.status]),
      published.map((i) => [i.id, i.version, i.status]),
    );
    // The user's next alert joins the kept incident through the merged one.
    const after = run([host, user, link, alert({ uid: "c4", user: "mallory", time: T0 + 3 * HOUR })]);
    assert.deepEqual(after.docs.get(older)?.alert_ids, ["c1", "c2", "c3", "c4"]);
  });

  test("an alert outside the window of the entity's incident opens a new one", () => {
    const a = alert({ uid: "d1", host: "ws-2", time: T0 });
    const late = alert({ uid: "d2", host: "ws-2", time: T0 + 25 * HOUR });
    const { open } = run([a, late]);
    assert.equal(open.length, 2);
    assert.deepEqual(
      open.map((i) => i.alert_ids),
      [["d1"], ["d2"]],
    );
    const short = run([a, alert({ uid: "d3", host: "ws-2", time: T0 + 2 * HOUR })], { ...ctx, windowMs: HOUR });
    assert.equal(short.open.length, 2, "the window is configurable");
  });

  test("a resolved incident takes no new alerts; its opening alert re-sent opens the next id", () => {
    const a = alert({ uid: "e1", host: "ws-3" });
    const first = run([a]);
    const inc = first.open[0] as Incident;
    const docs = new Map([[inc.id, { ...inc, status: "resolved" as const, version: 2 }]]);
    const p = planIncident(alert({ uid: "e1", host: "ws-3", severity: 5 }), [], { links: first.links, docs }, ctx);
    assert.equal(p?.changed[0]?.id, openingIds(a)[1]);
    assert.equal(p?.changed[0]?.version, 1);
  });

  test("a redelivered alert changes nothing (its incident is published again as it is); duplicates and unmatched activity join no incident", () => {
    const a = alert({ uid: "f1", host: "ws-4" });
    const { links, docs } = run([a]);
    const again = planIncident(a, [], { links, docs }, ctx);
    assert.deepEqual(again?.changed, []);
    assert.equal(again?.unchanged, [...docs.values()][0], "the stored version, not a new one");
    const dup: Decision = { ...respond(a, "r", 10), outcome: "duplicate" };
    assert.equal(planIncident(alert({ uid: "f2", host: "ws-4" }), [dup], { links, docs }, ctx), undefined);
    const signIn = { ...alert({ uid: "f3", user: "bob" }), class_uid: 3002 } as unknown as NormalizedEvent;
    assert.equal(planIncident(signIn, [], { links: new Map(), docs: new Map() }, ctx), undefined);
    const decided = planIncident(
      signIn,
      [respond(signIn, "brute-force", 60)],
      { links: new Map(), docs: new Map() },
      ctx,
    );
    assert.equal(decided?.changed[0]?.score, 60, "an event a rule responded to joins");
  });

  test("lists are bounded and counts keep going", () => {
    const events = Array.from({ length: 150 }, (_, i) =>
      alert({ uid: `g${i}`, host: "ws-5", user: `user${i}`, time: T0 + i * 1000 }),
    );
    const { open } = run(events);
    assert.equal(open.length, 1);
    const inc = open[0] as Incident;
    assert.equal(inc.alert_ids.length, INCIDENT_LIMITS.alertIds);
    assert.equal(inc.alert_count, 150);
    assert.equal(inc.entities.length, INCIDENT_LIMITS.entities);
    assert.equal(inc.entity_count, 151);
    assert.ok(JSON.stringify(inc).length < 20_000, "the record stays small");
  });

  test("events keyed by their source name no entity and group with nothing", () => {
    const e = { ...alert({ uid: "h1", ip: "10.0.0.1" }) };
    const bare = { ...e, src_endpoint: undefined, riposte: { ...e.riposte, entity_key: "source:edr" } };
    assert.deepEqual(incidentEntities(bare as NormalizedEvent), []);
    assert.equal(planIncident(bare as NormalizedEvent, [], { links: new Map(), docs: new Map() }, ctx), undefined);
  });
});
