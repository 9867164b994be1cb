/**
 * Scaling out: the same alert stream through one process of each service and through two of each (two ingest
 * processes taking half the requests each, two correlators in one consumer group, two executors), on real Kafka and
 * Redis. The decisions are the same (ids, outcomes, targets), and each host is contained exactly once at the EDR
 * fake; the same again with two of each on a private three-shard Redis Cluster (RIPOSTE_REDIS_CLUSTER=true). The
 * rates are reported as test diagnostics, not asserted (speed is the bench's business).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { freePorts } from "../infra/proc.ts";
import { startRedisCluster } from "../infra/redis.ts";
import { eventually } from "../support/env.ts";
import { TOKEN, startHarness } from "../support/harness.ts";

const HOSTS = 40;
const PER_HOST = 10;
const SIGNATURES = [2024833, 2027865];

/** HOSTS internal hosts × PER_HOST priority-1 Suricata alerts each (two signatures), every one unique. */
function alerts(): string[] {
  const now = Date.now() - 60_000;
  const out: string[] = [];
  for (let h = 0; h < HOSTS; h++) {
    for (let i = 0; i < PER_HOST; i++) {
      out.push(
        JSON.stringify({
          timestamp: new Date(now + i * 1_000).toISOString(),
          flow_id: 1_000_000 + h * 100 + i,
          event_type: "alert",
          src_ip: `10.9.0.${h + 1}`,
          src_port: 40_000 + i,
          dest_ip: "203.0.113.9",
          dest_port: 443,
          proto: "TCP",
          alert: {
            action: "allowed",
            gid: 1,
            signature_id: SIGNATURES[i % SIGNATURES.length],
            rev: 1,
            signature: `ET TEST scaling signature ${i % SIGNATURES.length}`,
            category: "A Network Trojan was detected",
            severity: 1,
          },
        }),
      );
    }
  }
  return out;
}

/** One stream for both runs (the decision ids follow from the alerts, their times included). */
const LINES = alerts();

const devices = Object.fromEntries(
  Array.from({ length: HOSTS }, (_, h) => [`10.9.0.${h + 1}`, `d${String(h).padStart(31, "0")}`]),
);

interface Run {
  readonly decisions: string[];
  readonly contains: string[];
  readonly seconds: number;
}

const fakes: FalconFake[] = [];
after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

async function run(processes: 1 | 2, redisCluster?: string): Promise<Run> {
  process.stderr.write(
    `scaling: run with ${processes} process(es) of each service${redisCluster ? " on a Redis Cluster" : ""}\n`,
  );
  const edr = await startFalconFake(devices);
  fakes.push(edr);
  const [secondPort] = await freePorts(1);
  const services =
    processes === 1
      ? ["ingest", "correlator", "executor"]
      : ["ingest", "ingest#2", "correlator", "correlator#2", "executor", "executor#2"];
  const h = await startHarness(
    "distributed",
    edr.url,
    {
      RIPOSTE_BUDGETS: "none",
      RIPOSTE_TOPIC_PARTITIONS: "4",
      ...(redisCluster ? { REDIS_URL: redisCluster, RIPOSTE_REDIS_CLUSTER: "true" } : {}),
    },
    services,
    { "ingest#2": { RIPOSTE_API_PORT: String(secondPort) } },
  );
  try {
    const urls = [h.url, `http://127.0.0.1:${secondPort}`].slice(0, processes);
    if (processes === 2)
      await eventually(
        () =>
          fetch(`${urls[1]}/healthz`).then(
            (r) => r.ok,
            () => false,
          ),
        "the second ingest process to answer /healthz",
        60_000,
      );
    const lines = LINES;
    // One body per host, in event order, each host's stream through one ingest process (as one sender's stream
    // would be): the first alert of a group decides it, so the order within a group must not depend on the run.
    const bodies: string[] = [];
    for (let i = 0; i < lines.length; i += PER_HOST) bodies.push(lines.slice(i, i + PER_HOST).join("\n"));
    const start = performance.now();
    await Promise.all(
      bodies.map(async (body, i) => {
        const res = await fetch(`${urls[i % urls.length]}/v1/alerts/suricata`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-ndjson" },
          body,
        });
        assert.equal(res.status, 202, await res.text());
      }),
    );
    await eventually(
      () => h.decisions.length >= lines.length,
      () => `${lines.length} decisions (${h.decisions.length})`,
      90_000,
    );
    const seconds = (performance.now() - start) / 1000;
    // Distinct by id: a batch redelivered after a rebalance re-publishes its decisions under the same ids.
    const distinct = () => [...new Map(h.decisions.map((d) => [d["id"], d])).values()];
    await eventually(
      () => distinct().length >= lines.length,
      () => `${lines.length} distinct decisions (${distinct().length})`,
      90_000,
    );
    const responds = distinct().filter((d) => d["outcome"] === "respond").length;
    // An audit record per decision's contain step (a redelivery re-publishes a stored record under the same id).
    const containAudits = () => new Set(h.actions.filter((a) => a["step"] === "contain-falcon").map((a) => a["id"]));
    await eventually(
      () => containAudits().size >= responds,
      () => `an audit record for each containment (${containAudits().size} of ${responds})`,
      90_000,
    );
    // Redeliveries and late duplicates would show up here.
    await new Promise((r) => setTimeout(r, 1_500));
    const decisions = distinct()
      .map((d) => JSON.stringify([d["id"], d["outcome"], d["target"], (d["rule"] as { id?: string } | undefined)?.id]))
      .sort();
    const contains = edr
      .actions()
      .flatMap((a) => (JSON.parse(a.body) as { ids: string[] }).ids)
      .sort();
    assert.equal(containAudits().size, responds, "one contain action per respond decision");
    return { decisions, contains, seconds };
  } finally {
    await h.stop();
  }
}

/** The run with one process of each, made once and compared with by both tests. */
let baseline: Promise<Run> | undefined;
const single = () => (baseline ??= run(1));

test("two processes of each service decide what one of each decides, and contain each host exactly once", async (t) => {
  const one = await single();
  const two = await run(2);
  assert.equal(one.decisions.length, HOSTS * PER_HOST, "one decision record per alert");
  assert.deepEqual(two.decisions, one.decisions, "the same decisions (ids, outcomes, targets, rules)");
  assert.equal(one.contains.length, HOSTS, "each host contained once (one process of each)");
  assert.deepEqual(two.contains, one.contains, "each host contained once (two processes of each)");
  assert.equal(new Set(two.contains).size, HOSTS);
  const rate = (r: Run) => Math.round((HOSTS * PER_HOST) / r.seconds);
  t.diagnostic(`alerts → decisions: ${rate(one)}/s with one process of each, ${rate(two)}/s with two of each`);
});

test("two processes of each service on a three-shard Redis Cluster decide the same and contain each host once", async (t) => {
  const one = await single();
  const cluster = await startRedisCluster(3);
  try {
    const sharded = await run(2, cluster.url);
    assert.deepEqual(sharded.decisions, one.decisions, "the same decisions (ids, outcomes, targets, rules)");
    assert.deepEqual(sharded.contains, one.contains, "each host contained once");
    t.diagnostic(`alerts → decisions on the Redis Cluster: ${Math.round((HOSTS * PER_HOST) / sharded.seconds)}/s`);
  } finally {
    await cluster.stop();
  }
});
