/** `riposte replay`: backtesting rule sets over recorded alerts, as a detection engineer runs it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type { Decision } from "../schemas/index.ts";
import { Kafka, logLevel } from "kafkajs";
import { at, entra, okta } from "../services/correlator/testing.ts";
import { requireKafka, uniquePrefix } from "./support/env.ts";

const exec = promisify(execFile);
/** The environment without Kafka and Redis: a replay needs neither. */
const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...embeddedEnv } = process.env;

async function replay(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { stdout, stderr } = await exec(process.execPath, ["bin/riposte.js", "replay", ...args], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
    env: { ...embeddedEnv, ...env },
  });
  const lines = stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, stderr };
}

const dir = mkdtempSync(join(tmpdir(), "riposte-replay-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** `fails` failed Okta sign-ins for alice a minute apart, then a successful Entra ID one (normalized events). */
function bruteForce(fails: number): string {
  const events = [
    ...Array.from({ length: fails }, (_, m) => okta({ user: "alice@example.com", ok: false, minute: m })),
    entra({ user: "alice@example.com", ok: true, minute: fails }),
  ];
  return events.map((e) => JSON.stringify(e)).join("\n");
}

/**
 * A Suricata EVE alert line from `src`, built field by field from Suricata's EVE JSON output documentation
 * (docs.suricata.io, "Eve JSON Output", event_type alert: timestamp, flow_id, src_ip, dest_ip, proto, alert.*).
 */
function eve(src: string, minute: number, flow: number): string {
  return JSON.stringify({
    timestamp: new Date(at(minute)).toISOString().replace("Z", "+0000"),
    flow_id: flow,
    event_type: "alert",
    src_ip: src,
    src_port: 49_152,
    dest_ip: "10.20.4.17",
    dest_port: 445,
    proto: "TCP",
    alert: {
      signature_id: 2_100_001,
      rev: 1,
      signature: "ET EXPLOIT SMB probe",
      category: "Attempted Admin",
      severity: 1,
    },
  });
}

const decisions = (lines: readonly Record<string, unknown>[]) => lines as unknown as Decision[];

test("the same input replays to the same decisions and ids, whatever the order of the input lines", async () => {
  const events = bruteForce(6);
  const file = join(dir, "signins.ndjson");
  writeFileSync(file, `${events}\n`);
  const reversed = join(dir, "signins-reversed.ndjson");
  writeFileSync(reversed, `${events.split("\n").reverse().join("\n")}\n`);
  const first = await replay(["--rules", "rules", file]);
  const again = await replay(["--rules", "rules", file]);
  const shuffled = await replay(["--rules", "rules", reversed]);
  const ids = (r: typeof first) => decisions(r.lines).map((d) => `${d.outcome}:${d.id}`);
  assert.equal(first.lines.length, 8, "one decision per sign-in, two for the success");
  assert.deepEqual(ids(again), ids(first));
  assert.deepEqual(ids(shuffled), ids(first), "events are decided in event time, not input order");
  const respond = decisions(first.lines).find((d) => d.rule?.id === "signin-brute-force-then-success-revoke-sessions");
  assert.ok(respond, "the brute force that worked is decided");
  assert.equal(respond.outcome, "respond");
  assert.equal(respond.correlation?.type, "temporal_ordered");
  assert.deepEqual(respond.target, { type: "user", value: "alice@example.com" });
  assert.equal(respond.playbook, "revoke-user-sessions");
  assert.equal(respond.time, at(6), "decided at the success's event time");
  assert.ok((respond.alert_ids?.length ?? 0) >= 6);
  assert.match(first.stderr, /8 decisions \(no_match 6, respond 2\)/);
  assert.match(first.stderr, /7 events, 7 normalized, 0 dead-lettered/);
});

test("--respond-only; raw events from a .gz are normalized as ingest does; an unreadable line is dead-lettered", async () => {
  const file = join(dir, "ids.ndjson.gz");
  writeFileSync(file, gzipSync(`${eve("10.20.30.40", 0, 1)}\nnot an event at all\n${eve("10.20.30.40", 1, 2)}\n`));
  const { lines, stderr } = await replay(["--rules", "rules", "--respond-only", file]);
  const ds = decisions(lines);
  assert.deepEqual(
    ds.map((d) => d.outcome),
    ["respond"],
    "the second alert of the same signature and host is suppressed by rule dedup",
  );
  assert.equal(ds[0]?.rule?.id, "network-ids-internal-host-isolate");
  assert.match(stderr, /3 events, 2 normalized, 1 dead-lettered/);
  assert.match(stderr, /dead-lettered \(RIPOSTE_FORMAT_UNKNOWN\)/);
});

test("an event without a time of its own is placed at the time of the event before it, not at the wall clock", async () => {
  // A CEF line without rt (ArcSight CEF implementation standard: Version|Vendor|Product|Version|Signature ID|Name|
  // Severity|Extension), after a Suricata alert about the same external address: two sensors within 30 minutes.
  const cefLine =
    "CEF:0|Example Networks|EdgeFirewall|9.1|threat-100|Blocked inbound connection|8|src=198.51.100.7 spt=51514 dst=10.20.4.17 dpt=22 proto=TCP act=deny externalId=fw-untimed-1";
  const file = join(dir, "mixed.log");
  writeFileSync(file, `${eve("198.51.100.7", 0, 30)}\n${cefLine}\n${eve("198.51.100.8", 50, 31)}\n`);
  const { lines } = await replay(["--rules", "rules", "--respond-only", file]);
  const ds = decisions(lines);
  assert.deepEqual(
    ds.map((d) => [d.rule?.id, d.target?.value, d.time]),
    [["external-ip-multi-sensor-block-ip", "198.51.100.7", at(0)]],
  );
});

test("--against: a changed threshold shows the decisions it adds and removes; exit 0", async () => {
  const changed = join(dir, "rules-threshold-3");
  cpSync("rules", changed, { recursive: true });
  const path = join(changed, "signin-brute-force-then-success-revoke-sessions.yaml");
  const text = readFileSync(path, "utf8");
  assert.match(text, /gte: 5/);
  writeFileSync(path, text.replace("gte: 5", "gte: 3"));
  const file = join(dir, "four-fails.ndjson");
  writeFileSync(file, `${bruteForce(4)}\n`);

  const added = await replay(["--rules", changed, "--against", "rules", file]);
  const rows = added.lines as Array<{ change: string; key: { rule: string | null }; decision?: Decision }>;
  const brute = rows.filter((r) => r.key.rule === "signin-brute-force-then-success-revoke-sessions");
  assert.equal(brute.length, 1);
  assert.equal(brute[0]?.change, "added");
  assert.equal(brute[0]?.decision?.outcome, "respond");
  assert.ok(rows.every((r) => ["added", "removed", "changed"].includes(r.change)));
  assert.match(added.stderr, /1 added, 0 removed, 0 changed, \d+ unchanged/);

  const removed = await replay(["--rules", "rules", "--against", changed, file]);
  assert.deepEqual(
    removed.lines.map((r) => [r["change"], (r["key"] as { rule: string }).rule]),
    [["removed", "signin-brute-force-then-success-revoke-sessions"]],
  );
});

test("--against: an edit that keeps a decision but changes its response shows it as changed", async () => {
  const changed = join(dir, "rules-notify");
  cpSync("rules", changed, { recursive: true });
  const path = join(changed, "network-ids-internal-host-isolate.yaml");
  writeFileSync(path, readFileSync(path, "utf8").replace("playbook: isolate-host", "playbook: notify"));
  const file = join(dir, "ids-one.ndjson");
  writeFileSync(file, `${eve("10.20.30.41", 0, 3)}\n`);
  const { lines } = await replay(["--rules", changed, "--against", "rules", "--respond-only", file]);
  assert.equal(lines.length, 1);
  const row = lines[0] as { change: string; changes: Record<string, { before: unknown; after: unknown }> };
  assert.equal(row.change, "changed");
  assert.deepEqual(row.changes["playbook"], { before: "isolate-host", after: "notify" });
});

test("--plan: the dry-run steps of each response, a protected host refused and a spent budget applied", async () => {
  const guarded = join(dir, "rules-protected");
  cpSync("rules", guarded, { recursive: true });
  writeFileSync(join(guarded, "protected.yaml"), "hosts: []\nusers: []\nips: [10.20.30.50]\ncidrs: []\n");
  const file = join(dir, "ids-plan.ndjson");
  writeFileSync(file, [eve("10.20.30.50", 0, 10), eve("10.20.30.51", 1, 11), eve("10.20.30.52", 2, 12)].join("\n"));
  const { lines, stderr } = await replay(["--rules", guarded, "--plan", "--respond-only", file], {
    RIPOSTE_BUDGETS: "containment:1/10m",
  });
  const plans = lines.map((l) => ({
    target: (l["target"] as { value: string }).value,
    plan: l["plan"] as Array<{ step: string; status: string; connector: string; reason?: string; request?: unknown }>,
  }));
  // isolate-host for a Suricata alert: the Falcon lookup, the containment, the ticket (no incident in a replay), Slack;
  // the Defender steps' conditions are false.
  const steps = (contain: string) => [
    "lookup-falcon: dry_run",
    `contain-falcon: ${contain}`,
    "ticket-no-incident: dry_run",
    "notify: dry_run",
  ];
  assert.deepEqual(
    plans.map((p) => [p.target, p.plan.map((s) => `${s.step}: ${s.status}`)]),
    [
      ["10.20.30.50", steps("refused_protected")],
      ["10.20.30.51", steps("dry_run")],
      ["10.20.30.52", steps("refused_budget")],
    ],
  );
  assert.match(plans[0]?.plan[1]?.reason ?? "", /protected asset/);
  assert.equal(plans[1]?.plan[1]?.connector, "crowdstrike");
  assert.deepEqual(plans[1]?.plan[1]?.request, { host: "10.20.30.51" }, "the request the step would send");
  assert.match(plans[2]?.plan[1]?.reason ?? "", /budget containment:1\/10m is spent/);
  assert.match(stderr, /plan steps: /);
});

test("--plan: a response's steps carry the requests the connector would send", async () => {
  const file = join(dir, "signins-plan.ndjson");
  writeFileSync(file, `${bruteForce(5)}\n`);
  const { lines } = await replay(["--rules", "rules", "--plan", "--respond-only", file]);
  const revoke = lines.find(
    (l) => (l["rule"] as { id: string }).id === "signin-brute-force-then-success-revoke-sessions",
  );
  const plan = revoke?.["plan"] as Array<{
    step: string;
    status: string;
    would_send?: Array<{ method: string; path: string }>;
  }>;
  // Okta failures, then the success at Entra ID: the rule's idp is the success's format, so Entra revokes.
  assert.deepEqual(
    plan.map((s) => [s.step, s.status]),
    [
      ["revoke-entra", "dry_run"],
      ["ticket-no-incident", "dry_run"],
      ["notify", "dry_run"],
    ],
  );
  assert.deepEqual(
    plan[0]?.would_send?.map((r) => `${r.method} ${r.path}`),
    [
      "GET /v1.0/users/alice%40example.com?$select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled",
      "POST /v1.0/users/{id}/revokeSignInSessions",
    ],
  );
});

test("--topic --from --to: the records of a Kafka topic within the range, decided as from a file", async () => {
  const brokers = await requireKafka();
  const topic = `${uniquePrefix("replay")}.alerts.raw`;
  const kafka = new Kafka({ brokers, clientId: "replay-cli-test", logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const record = (src: string, minute: number, flow: number, partition: number) => ({
      value: eve(src, minute, flow),
      partition,
      timestamp: String(at(minute)),
      headers: { "riposte-source": "ids" },
    });
    await producer.send({
      topic,
      messages: [
        record("10.20.30.60", 0, 20, 0),
        record("10.20.30.61", 1, 21, 1),
        record("10.20.30.62", 2, 22, 0),
        record("10.20.30.63", 30, 23, 1),
      ],
    });
    const range = ["--topic", topic, "--from", new Date(at(0)).toISOString(), "--to", new Date(at(10)).toISOString()];
    const env = { KAFKA_BROKERS: brokers.join(",") };
    const first = await replay(["--rules", "rules", "--respond-only", ...range], env);
    const again = await replay(["--rules", "rules", "--respond-only", ...range], env);
    const ds = decisions(first.lines);
    assert.deepEqual(
      ds.map((d) => d.target?.value),
      ["10.20.30.60", "10.20.30.61", "10.20.30.62"],
      "in event time across partitions; the record after --to is not read",
    );
    assert.deepEqual(
      decisions(again.lines).map((d) => d.id),
      ds.map((d) => d.id),
    );
    assert.match(first.stderr, /3 events, 3 normalized, 0 dead-lettered/);
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
