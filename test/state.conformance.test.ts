/** One conformance suite for both state stores: in-memory and Redis (real server, atomic Lua scripts). */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import {
  MemoryState,
  RedisState,
  incidentKeys,
  leaseKeys,
  loadScripts,
  runKeys,
  stateKey,
  type StateStore,
} from "../services/shared/state/index.ts";
import { isRiposteError } from "../services/shared/errors.ts";
import { requireRedis, uniquePrefix } from "./support/env.ts";
import { startRedisCluster, type RunningRedisCluster } from "./infra/redis.ts";

/** A private three-shard Redis Cluster, started once for the cluster run of the suite. */
let cluster: Promise<RunningRedisCluster> | undefined;
after(async () => (cluster ? (await cluster).stop() : undefined));

const implementations: Array<[string, () => Promise<StateStore>]> = [
  ["memory", async () => new MemoryState()],
  [
    "redis",
    async () => {
      const s = new RedisState(await requireRedis());
      await s.ready();
      return s;
    },
  ],
  [
    // Every script's keys share one hash tag, so each call lands on one shard.
    "redis-cluster",
    async () => {
      cluster ??= startRedisCluster(3);
      const s = new RedisState({ url: (await cluster).url, cluster: true });
      await s.ready();
      return s;
    },
  ],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A key holding a pending claim (for wrong-kind checks). */
async function claimed(s: StateStore): Promise<string> {
  const k = stateKey(uniquePrefix("claimed"), "host:a", "action", "1");
  await s.claim(k, "o1", 60_000);
  return k;
}

/** Asserts a state error that a retry cannot fix (the message would otherwise be redelivered forever). */
async function refused(p: Promise<unknown>, what: string, message?: RegExp): Promise<void> {
  await assert.rejects(
    p,
    (e) => {
      assert.ok(isRiposteError(e), `${what}: a coded error, got ${String(e)}`);
      assert.equal(e.code, "RIPOSTE_STATE_SCRIPT", `${what}: ${e.message}`);
      assert.equal(e.retriable, false, what);
      if (message) assert.match(e.message, message, what);
      return true;
    },
    what,
  );
}

for (const [name, make] of implementations) {
  describe(`state conformance: ${name}`, () => {
    const stores: StateStore[] = [];
    const store = async () => {
      const s = await make();
      stores.push(s);
      return s;
    };
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });

    test("seen counts sightings within the window, then starts again", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("seen"), "host:a", "fp", "x");
      assert.equal(await s.seen(k, 150), 1);
      assert.equal(await s.seen(k, 150), 2);
      await sleep(250);
      assert.equal(await s.seen(k, 150), 1);
    });

    test("claim: first owner acquires, others see it held, completion is final", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("claim"), "host:a", "action", "1");
      assert.deepEqual(await s.claim(k, "o1", 5_000), { state: "acquired" });
      assert.deepEqual(await s.claim(k, "o1", 5_000), { state: "acquired" }, "same owner again");
      assert.deepEqual(await s.claim(k, "o2", 5_000), { state: "held", owner: "o1" });
      assert.equal(await s.complete(k, "o2", "nope", 5_000), false, "only the owner completes");
      assert.equal(await s.complete(k, "o1", "succeeded", 5_000), true);
      assert.deepEqual(await s.claim(k, "o2", 5_000), { state: "done", result: "succeeded" });
      assert.deepEqual(await s.claim(k, "o1", 5_000), { state: "done", result: "succeeded" });
    });

    test("release lets another owner claim; a pending claim expires", async () => {
      const s = await store();
      const p = uniquePrefix("release");
      const k = stateKey(p, "user:b", "lease", "x");
      await s.claim(k, "o1", 5_000);
      assert.equal(await s.release(k, "o2"), false);
      assert.equal(await s.release(k, "o1"), true);
      assert.deepEqual(await s.claim(k, "o2", 100), { state: "acquired" });
      await sleep(200);
      assert.deepEqual(await s.claim(k, "o3", 100), { state: "acquired" }, "expired claim is free");
    });

    test("windowAdd counts distinct members inside the sliding window", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("win"), "ip:10.0.0.1", "window", "r1");
      assert.equal(await s.windowAdd(k, "a", 1_000, 500), 1);
      assert.equal(await s.windowAdd(k, "b", 1_100, 500), 2);
      assert.equal(await s.windowAdd(k, "a", 1_200, 500), 2, "same member counts once");
      assert.equal(await s.windowAdd(k, "c", 1_650, 500), 2, "b (1100) and c remain; a moved to 1200 and stays");
      assert.equal(await s.windowAdd(k, "d", 1_800, 500), 2, "c and d");
    });

    test("a zero, negative or non-finite TTL is refused, not retried, and writes nothing", async () => {
      const s = await store();
      const p = uniquePrefix("ttl");
      const k = stateKey(p, "host:a", "action", "1");
      const w = stateKey(p, "host:a", "window", "1");
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await refused(s.seen(k, ttl), `seen ttl ${ttl}`, /TTL must be a positive number/);
        await refused(s.claim(k, "o1", ttl), `claim ttl ${ttl}`, /TTL must be a positive number/);
        await refused(s.windowAdd(w, "a", 1_000, ttl), `windowAdd window ${ttl}`, /TTL must be a positive number/);
      }
      await refused(s.windowAdd(w, "a", Number.NaN, 1_000), "windowAdd at NaN");
      assert.equal(await s.seen(k, 5_000), 1, "no sighting was recorded");
      assert.equal(await s.windowAdd(w, "b", 1_000, 5_000), 1, "no member was added");
      const c = stateKey(p, "host:a", "action", "2");
      assert.deepEqual(await s.claim(c, "o1", 5_000), { state: "acquired" }, "no claim was written");
      await refused(s.complete(c, "o1", "succeeded", 0), "complete ttl 0");
      assert.deepEqual(await s.claim(c, "o2", 5_000), { state: "held", owner: "o1" }, "the claim is still pending");
      assert.equal(await s.complete(c, "o1", "succeeded", 0.5), true, "a fraction of a ms rounds up");
    });

    test("an operation on a key holding another kind of value is refused, not retried", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("kind"), "host:a", "window", "1");
      assert.equal(await s.windowAdd(k, "a", 1_000, 60_000), 1);
      await refused(s.seen(k, 1_000), "seen on a window");
      await refused(s.claim(k, "o1", 1_000), "claim on a window");
      await refused(s.complete(k, "o1", "x", 1_000), "complete on a window");
      await refused(s.release(k, "o1"), "release on a window");
      const c = stateKey(uniquePrefix("kind"), "host:a", "action", "1");
      await s.claim(c, "o1", 60_000);
      await refused(s.seen(c, 1_000), "seen on a claim");
      await refused(s.windowAdd(c, "a", 1_000, 1_000), "windowAdd on a claim");
    });

    // Correlator: timelines (correlation windows, new_terms history) and dedup digests.
    test("append/recall keep members in event-time order, a member at its latest time, trimmed by cutoff and cap", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("timeline"), "user:alice", "corr", "r1");
      assert.deepEqual(await s.recall(k), [], "an absent timeline is empty");
      await s.append(
        k,
        [
          { member: "b", time: 2_000 },
          { member: "a", time: 1_000 },
        ],
        0,
        10,
        60_000,
      );
      await s.append(
        k,
        [
          { member: "a", time: 500 },
          { member: "c", time: 2_000 },
        ],
        0,
        10,
        60_000,
      );
      assert.deepEqual(
        await s.recall(k),
        [
          { member: "a", time: 1_000 },
          { member: "b", time: 2_000 },
          { member: "c", time: 2_000 },
        ],
        "an earlier time never moves a member back; ties by member",
      );
      await s.append(k, [{ member: "a", time: 3_000 }], 1_500, 10, 60_000);
      assert.deepEqual(
        (await s.recall(k)).map((e) => e.member),
        ["b", "c", "a"],
        "a moved to 3000",
      );
      await s.append(k, [{ member: "d", time: 4_000 }], 2_000, 2, 60_000);
      assert.deepEqual(
        await s.recall(k),
        [
          { member: "a", time: 3_000 },
          { member: "d", time: 4_000 },
        ],
        "only the newest cap members stay",
      );
      await s.append(k, [], 5_000, 2, 60_000);
      assert.deepEqual(await s.recall(k), [], "everything before the cutoff is gone");
    });

    test("append trims by cutoff whatever the order of the times appended (a late old member, a member moved on)", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("timeline"), "user:bob", "corr", "r1");
      const members = async () => (await s.recall(k)).map((e) => `${e.member}@${e.time}`);
      await s.append(
        k,
        [
          { member: "a", time: 1_000 },
          { member: "b", time: 5_000 },
        ],
        0,
        10,
        60_000,
      );
      await s.append(k, [{ member: "c", time: 6_000 }], 2_000, 10, 60_000);
      assert.deepEqual(await members(), ["b@5000", "c@6000"], "a is before the cutoff");
      await s.append(k, [{ member: "e", time: 1_500 }], 1_000, 10, 60_000);
      assert.deepEqual(await members(), ["e@1500", "b@5000", "c@6000"], "an old member appended late is kept");
      await s.append(k, [{ member: "e", time: 7_000 }], 1_000, 10, 60_000);
      await s.append(k, [], 5_500, 10, 60_000);
      assert.deepEqual(await members(), ["c@6000", "e@7000"], "e moved on: only b is before this cutoff");
      await s.append(k, [{ member: "f", time: 8_000 }], 6_500, 10, 60_000);
      assert.deepEqual(await members(), ["e@7000", "f@8000"]);
    });

    test("a timeline expires ttl after its last append", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("timeline-ttl"), "user:alice", "corr", "r1");
      await s.append(k, [{ member: "a", time: 1 }], 0, 10, 150);
      assert.equal((await s.recall(k)).length, 1);
      await sleep(250);
      assert.deepEqual(await s.recall(k), []);
    });

    test("lookup/record keep one field per alert; the hash expires ttl after its first field", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("digest"), "host:a", "seen", "20261202");
      assert.equal(await s.lookup(k, "fp1"), undefined);
      await s.record(k, "fp1", "d1", 200);
      await s.record(k, "fp2", "d2", 200);
      await s.record(k, "fp1", "d3", 200);
      assert.equal(await s.lookup(k, "fp1"), "d3");
      assert.equal(await s.lookup(k, "fp2"), "d2");
      await sleep(120);
      await s.record(k, "fp3", "d4", 200);
      await sleep(120);
      assert.equal(await s.lookup(k, "fp3"), undefined, "a later field does not extend the hash");
    });

    test("timeline and digest operations refuse bad arguments and other kinds of keys", async () => {
      const s = await store();
      const p = uniquePrefix("timeline-bad");
      const k = stateKey(p, "user:a", "corr", "1");
      await refused(s.append(k, [{ member: "a", time: 1 }], 0, 10, 0), "append ttl 0", /TTL must be a positive number/);
      await refused(s.append(k, [{ member: "a", time: Number.NaN }], 0, 10, 1_000), "append at NaN");
      await refused(s.append(k, [{ member: "a", time: 1 }], 0, 0, 1_000), "append cap 0");
      await refused(s.record(k, "f", "v", -1), "record ttl -1", /TTL must be a positive number/);
      assert.deepEqual(await s.recall(k), [], "nothing was written");
      assert.equal(await s.lookup(k, "f"), undefined, "nothing was written");
      const c = stateKey(p, "user:a", "action", "1");
      await s.claim(c, "o1", 60_000);
      await refused(s.recall(c), "recall on a claim");
      await refused(s.append(c, [{ member: "a", time: 1 }], 0, 10, 1_000), "append on a claim");
      await refused(s.lookup(c, "f"), "lookup on a claim");
      await refused(s.record(c, "f", "v", 1_000), "record on a claim");
    });

    // Executor guards: budgets, token buckets, plain values.
    test("budgetTake admits up to the limit per sliding window, counts an action once, and releases", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("budget"), "budget", "containment", "global");
      assert.deepEqual(await s.budgetTake(k, "a1", 1_000, 500, 2), { admitted: true, count: 1 });
      assert.deepEqual(await s.budgetTake(k, "a1", 1_050, 500, 2), { admitted: true, count: 1 }, "same action");
      assert.deepEqual(await s.budgetTake(k, "a2", 1_100, 500, 2), { admitted: true, count: 2 });
      assert.deepEqual(await s.budgetTake(k, "a3", 1_200, 500, 2), { admitted: false, count: 2 }, "the (N+1)th");
      assert.deepEqual(await s.budgetTake(k, "a3", 1_550, 500, 2), { admitted: true, count: 2 }, "a1 left the window");
      assert.equal(await s.budgetRelease(k, "a3"), true);
      assert.equal(await s.budgetRelease(k, "a3"), false, "released once");
      assert.deepEqual(await s.budgetTake(k, "a4", 1_560, 500, 2), { admitted: true, count: 2 });
      await refused(s.budgetTake(k, "a5", 1_560, 500, 0), "a zero limit", /positive integer/);
      await refused(s.budgetTake(k, "a5", 1_560, 0, 2), "a zero window", /TTL must be a positive number/);
    });

    test("budgetTake is atomic: concurrent takers never exceed the limit", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("budget-race"), "budget", "containment", "global");
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => s.budgetTake(k, `a${i}`, 10_000, 60_000, 20)),
      );
      assert.equal(results.filter((r) => r.admitted).length, 20);
    });

    test("tokenTake grants the burst, then says how long to wait, and refills over time", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("bucket"), "rate", "connector", "crowdstrike");
      for (let i = 0; i < 3; i++) assert.equal(await s.tokenTake(k, 1_000, 3, 300), 0, `token ${i + 1}`);
      assert.equal(await s.tokenTake(k, 1_000, 3, 300), 100, "one token refills in 100 ms");
      assert.equal(await s.tokenTake(k, 1_050, 3, 300), 50, "half a token refilled");
      assert.equal(await s.tokenTake(k, 1_100, 3, 300), 0);
      assert.equal(await s.tokenTake(k, 1_100, 3, 300), 100);
      assert.equal(await s.tokenTake(k, 2_000, 3, 300), 0, "full again, capped at the capacity");
      assert.equal(await s.tokenTake(k, 2_000, 3, 300), 0);
      assert.equal(await s.tokenTake(k, 2_000, 3, 300), 0);
      assert.ok((await s.tokenTake(k, 2_000, 3, 300)) > 0, "no more than the capacity at once");
      await refused(s.tokenTake(k, 2_000, 0, 300), "a zero capacity", /positive integer/);
    });

    test("getValue / setValue hold a plain value without expiry", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("value"), "guards", "kill-switch", "state");
      assert.equal(await s.getValue(k), undefined);
      await s.setValue(k, '{"on":true}');
      assert.equal(await s.getValue(k), '{"on":true}');
      await s.setValue(k, '{"on":false}');
      assert.equal(await s.getValue(k), '{"on":false}');
      const w = stateKey(uniquePrefix("value"), "host:a", "window", "1");
      await s.windowAdd(w, "a", 1_000, 60_000);
      await refused(s.getValue(w), "getValue on a window");
      await refused(s.budgetTake(await claimed(s), "a", 1_000, 1_000, 1), "budgetTake on a claim");
    });

    test("imported lists: add keeps the later expiry, commit trims and bumps the version, read skips expired", async () => {
      const s = await store();
      const p = uniquePrefix("list");
      const k = stateKey(p, "list:iocs", "list", "entries");
      const v = stateKey(p, "list:iocs", "list", "version");
      const now = Date.now();
      assert.deepEqual(await s.listRead(k, v, now), { version: 0, entries: [] });
      assert.equal(
        await s.listAdd(
          k,
          [
            { value: "10.0.0.1", expires: now + 60_000 },
            { value: "evil.example", expires: now + 400 },
            { value: "gone.example", expires: now - 1 },
          ],
          now,
        ),
        3,
      );
      assert.equal(await s.listAdd(k, [{ value: "10.0.0.1", expires: now + 1_000 }], now), 3, "not shortened");
      assert.deepEqual(await s.listCommit(k, v, now), { count: 2, version: 1 });
      const read = await s.listRead(k, v, now);
      assert.equal(read.version, 1);
      assert.deepEqual(
        read.entries.sort((a, b) => a.expires - b.expires),
        [
          { value: "evil.example", expires: now + 400 },
          { value: "10.0.0.1", expires: now + 60_000 },
        ],
      );
      assert.equal(await s.getValue(v), "1", "the version is a plain value");
      assert.deepEqual(
        (await s.listRead(k, v, now + 500)).entries.map((e) => e.value),
        ["10.0.0.1"],
        "an expired entry is not read before the next commit trims it",
      );
      assert.deepEqual(await s.listCommit(k, v, now + 500), { count: 1, version: 2 });
      const names = stateKey(p, "lists", "list", "names");
      assert.deepEqual(await s.listNames(names), []);
      await s.listNameAdd(names, "iocs");
      await s.listNameAdd(names, "allow");
      await s.listNameAdd(names, "iocs");
      assert.deepEqual(await s.listNames(names), ["allow", "iocs"]);
      await refused(s.listAdd(names, [{ value: "x", expires: now + 1 }], now), "listAdd on the name set");
      await refused(s.listNames(k), "listNames on a list hash");
      await refused(s.listAdd(k, [{ value: "x", expires: Number.NaN }], now), "a NaN expiry", /finite/);
    });

    test("imported lists: the hash goes when its last entry expires; the version stays", async () => {
      const s = await store();
      const p = uniquePrefix("list-exp");
      const k = stateKey(p, "list:x", "list", "entries");
      const v = stateKey(p, "list:x", "list", "version");
      await s.listAdd(k, [{ value: "a.example", expires: Date.now() + 150 }], Date.now());
      await s.listCommit(k, v, Date.now());
      await sleep(300);
      assert.deepEqual(await s.listRead(k, v, Date.now()), { version: 1, entries: [] });
      assert.deepEqual(await s.listCommit(k, v, Date.now()), { count: 0, version: 2 });
    });

    const save = (
      writes: Array<{ id: string; version: number; lastSeen: number }>,
      links: Array<{ entity: string; id: string }> = [],
      trim: { retainAfter?: number; linkAfter?: number; linkTime?: number } = {},
    ) => ({
      writes: writes.map((w) => ({ ...w, doc: JSON.stringify({ id: w.id, version: w.version }) })),
      links,
      linkTime: trim.linkTime ?? 1_000,
      retainAfter: trim.retainAfter ?? 0,
      linkAfter: trim.linkAfter ?? 0,
      ttlMs: 60_000,
    });

    test("runs: compare-and-set saves, open runs listed until they end, pages latest first, retention trims", async () => {
      const s = await store();
      const keys = runKeys(uniquePrefix("runs"));
      const w = (id: string, version: number, started: number, open: boolean, retainAfter = 0) => ({
        id,
        doc: JSON.stringify({ id, version }),
        version,
        started,
        open,
        retainAfter,
        ttlMs: 60_000,
      });
      assert.deepEqual(await s.runRead(keys, ["a"]), [undefined]);
      assert.deepEqual(await s.runScan(keys, "all", undefined, 10), []);
      assert.equal(await s.runSave(keys, w("a", 1, 1_000, true)), true);
      assert.equal(await s.runSave(keys, w("b", 1, 2_000, true)), true);
      assert.equal(await s.runSave(keys, w("c", 1, 2_000, false)), true);
      assert.equal(await s.runSave(keys, w("a", 1, 1_000, false)), false, "version 1 again: a conflict");
      assert.equal(await s.runSave(keys, w("a", 3, 1_000, false)), false, "a version skipped: a conflict");
      assert.deepEqual(
        (await s.runRead(keys, ["b", "nope", "a"])).map((d) => d && (JSON.parse(d) as { version: number }).version),
        [1, undefined, 1],
        "nothing written by the conflicts",
      );
      assert.deepEqual(await s.runScan(keys, "open", undefined, 10), [
        { id: "b", score: 2_000 },
        { id: "a", score: 1_000 },
      ]);
      assert.equal(await s.runSave(keys, w("a", 2, 1_000, false)), true);
      assert.deepEqual(await s.runScan(keys, "open", undefined, 10), [{ id: "b", score: 2_000 }], "a ended");
      const first = await s.runScan(keys, "all", undefined, 2);
      assert.deepEqual(first, [
        { id: "c", score: 2_000 },
        { id: "b", score: 2_000 },
      ]);
      assert.deepEqual(await s.runScan(keys, "all", first[1], 2), [{ id: "a", score: 1_000 }]);
      assert.equal(await s.runSave(keys, w("d", 1, 3_000, true, 1_500)), true);
      assert.deepEqual(await s.runRead(keys, ["a"]), [undefined], "a started before the retention: dropped");
      assert.deepEqual(
        (await s.runScan(keys, "all", undefined, 10)).map((r) => r.id),
        ["d", "c", "b"],
      );
      await refused(s.runSave(keys, w("e", 0, 1, true)), "runSave version 0");
      await refused(s.runSave(keys, { ...w("e", 1, 1, true), ttlMs: 0 }), "runSave ttl 0");
      await refused(s.runScan(keys, "all", undefined, 0), "runScan count 0");
    });

    test("incidents: a save writes documents and links together, and reads give them back in order", async () => {
      const s = await store();
      const keys = incidentKeys(uniquePrefix("inc"));
      assert.deepEqual(await s.incidentRead(keys, ["a"]), [undefined]);
      assert.deepEqual(await s.incidentFind(keys, ["host:x"], ["a"]), { links: [undefined], docs: new Map() });
      const r = await s.incidentSave(
        keys,
        save(
          [
            { id: "a", version: 1, lastSeen: 1_000 },
            { id: "b", version: 1, lastSeen: 2_000 },
          ],
          [
            { entity: "host:x", id: "a" },
            { entity: "user:y", id: "b" },
          ],
        ),
      );
      assert.deepEqual(r, { saved: true });
      assert.deepEqual(
        (await s.incidentRead(keys, ["b", "nope", "a"])).map((d) => (d ? (JSON.parse(d) as { id: string }).id : d)),
        ["b", undefined, "a"],
      );
      const found = await s.incidentFind(keys, ["user:y", "host:x", "ip:z"], ["c", "b"]);
      assert.deepEqual(found.links, ["b", "a", undefined]);
      assert.deepEqual([...found.docs.keys()].sort(), ["a", "b"], "the linked incidents' documents, and those asked");
      assert.equal(JSON.parse(found.docs.get("a") ?? "{}").id, "a");
      assert.deepEqual([...(await s.incidentFind(keys, [], ["a"])).docs.keys()], ["a"]);
      assert.deepEqual(await s.incidentRead(keys, []), []);
    });

    test("incidents: compare-and-set on versions; a conflict writes nothing at all", async () => {
      const s = await store();
      const keys = incidentKeys(uniquePrefix("inc-cas"));
      assert.deepEqual(await s.incidentSave(keys, save([{ id: "a", version: 1, lastSeen: 1 }])), { saved: true });
      assert.deepEqual(await s.incidentSave(keys, save([{ id: "a", version: 1, lastSeen: 1 }])), {
        saved: false,
        conflict: "a",
      });
      const mixed = save(
        [
          { id: "new", version: 1, lastSeen: 5 },
          { id: "a", version: 3, lastSeen: 5 },
        ],
        [{ entity: "host:q", id: "new" }],
      );
      assert.deepEqual(await s.incidentSave(keys, mixed), { saved: false, conflict: "a" });
      assert.deepEqual(await s.incidentRead(keys, ["new"]), [undefined], "nothing of a refused save is written");
      assert.deepEqual((await s.incidentFind(keys, ["host:q"], [])).links, [undefined]);
      assert.deepEqual(await s.incidentSave(keys, save([{ id: "a", version: 2, lastSeen: 9 }])), { saved: true });
    });

    test("incidents: scan pages latest first, ties by id descending, and resumes strictly after a position", async () => {
      const s = await store();
      const keys = incidentKeys(uniquePrefix("inc-scan"));
      const rows = [
        { id: "a", lastSeen: 100 },
        { id: "b", lastSeen: 300 },
        { id: "c", lastSeen: 200 },
        { id: "d", lastSeen: 200 },
        { id: "e", lastSeen: 200 },
      ];
      await s.incidentSave(keys, save(rows.map((r) => ({ ...r, version: 1 }))));
      const first = await s.incidentScan(keys, undefined, 2);
      assert.deepEqual(first, [
        { id: "b", score: 300 },
        { id: "e", score: 200 },
      ]);
      const second = await s.incidentScan(keys, first[1], 2);
      assert.deepEqual(second, [
        { id: "d", score: 200 },
        { id: "c", score: 200 },
      ]);
      assert.deepEqual(await s.incidentScan(keys, second[1], 2), [{ id: "a", score: 100 }]);
      assert.deepEqual(await s.incidentScan(keys, { id: "a", score: 100 }, 2), []);
      assert.deepEqual(await s.incidentScan(incidentKeys(uniquePrefix("inc-none")), undefined, 5), []);
    });

    test("incidents: a save trims incidents out of retention and links out of the window", async () => {
      const s = await store();
      const keys = incidentKeys(uniquePrefix("inc-trim"));
      await s.incidentSave(
        keys,
        save(
          [
            { id: "old", version: 1, lastSeen: 1_000 },
            { id: "kept", version: 1, lastSeen: 5_000 },
          ],
          [{ entity: "host:old", id: "old" }],
          { linkTime: 1_000 },
        ),
      );
      await s.incidentSave(
        keys,
        save([{ id: "new", version: 1, lastSeen: 9_000 }], [{ entity: "host:new", id: "new" }], {
          linkTime: 9_000,
          retainAfter: 2_000,
          linkAfter: 2_000,
        }),
      );
      assert.deepEqual(await s.incidentRead(keys, ["old", "kept", "new"]).then((d) => d.map(Boolean)), [
        false,
        true,
        true,
      ]);
      assert.deepEqual(
        (await s.incidentScan(keys, undefined, 10)).map((x) => x.id),
        ["new", "kept"],
      );
      assert.deepEqual((await s.incidentFind(keys, ["host:old", "host:new"], [])).links, [undefined, "new"]);
      // A trimmed incident starts again at version 1.
      assert.deepEqual(await s.incidentSave(keys, save([{ id: "old", version: 1, lastSeen: 9_500 }])), { saved: true });
    });

    test("incidents: trimming takes at most 100 per save, and reaches an incident saved late with an old time", async () => {
      const s = await store();
      const keys = incidentKeys(uniquePrefix("inc-trim-many"));
      const many = Array.from({ length: 150 }, (_, i) => ({
        id: `i${String(i).padStart(3, "0")}`,
        version: 1,
        lastSeen: 1_000 + i,
      }));
      await s.incidentSave(keys, save(many));
      // Nothing is out of retention yet: saves that trim nothing leave everything.
      await s.incidentSave(keys, save([{ id: "late", version: 1, lastSeen: 500 }], [], { retainAfter: 400 }));
      assert.equal(
        (await s.incidentScan(keys, undefined, 500)).length,
        151,
        "late (500) stays until the cut passes it",
      );
      // An incident written with a time older than everything else is still found by the next cut.
      await s.incidentSave(keys, save([{ id: "x", version: 1, lastSeen: 9_000 }], [], { retainAfter: 600 }));
      assert.deepEqual(await s.incidentRead(keys, ["late"]), [undefined]);
      await s.incidentSave(keys, save([{ id: "y", version: 1, lastSeen: 9_000 }], [], { retainAfter: 5_000 }));
      assert.equal((await s.incidentScan(keys, undefined, 500)).length, 52, "100 of the 150 trimmed by one save");
      await s.incidentSave(keys, save([{ id: "z", version: 1, lastSeen: 9_000 }], [], { retainAfter: 5_000 }));
      assert.deepEqual((await s.incidentScan(keys, undefined, 500)).map((x) => x.id).sort(), ["x", "y", "z"]);
    });

    test("incidents: versions and times must be valid, and refused alike", async () => {
      const s = await store();
      const keys = incidentKeys(uniquePrefix("inc-bad"));
      await refused(s.incidentSave(keys, save([{ id: "a", version: 0, lastSeen: 1 }])), "version 0");
      await refused(s.incidentSave(keys, save([{ id: "a", version: 1, lastSeen: Number.NaN }])), "NaN last_seen");
      await refused(s.incidentSave(keys, { ...save([]), ttlMs: 0 }), "TTL 0");
      await refused(s.incidentScan(keys, undefined, 0), "page size 0");
    });

    test("budgetCount counts the members within the window, read-only", async () => {
      const s = await store();
      const k = stateKey(uniquePrefix("budget-count"), "budget", "global", "containment");
      assert.equal(await s.budgetCount(k, 1_000, 500), 0);
      await s.budgetTake(k, "a1", 1_000, 500, 5);
      await s.budgetTake(k, "a2", 1_300, 500, 5);
      assert.equal(await s.budgetCount(k, 1_400, 500), 2);
      assert.equal(await s.budgetCount(k, 1_500, 500), 1, "a1 left the window");
      assert.equal(await s.budgetCount(k, 1_500, 500), 1, "reading took nothing");
      await refused(s.budgetCount(k, 1_500, 0), "window 0");
    });

    test("leases: a pending hold, then a lease, holds the target; extend, release, claim once, retry, end", async () => {
      const s = await store();
      const keys = leaseKeys(uniquePrefix("leases"));
      const field = "host:a|crowdstrike.contain_host";
      assert.deepEqual(await s.leaseHold(keys, field, "d1", 1_000, 500), { state: "acquired" });
      assert.deepEqual(await s.leaseHold(keys, field, "d1", 1_100, 500), { state: "acquired" }, "same owner again");
      const held = await s.leaseHold(keys, field, "d2", 1_200, 500);
      assert.equal(held.state, "held");
      assert.match(held.state === "held" ? held.by : "", /^P\|d1\|1600$/);
      assert.equal(await s.leaseOpen(keys, field, "d2", "L2", "{}", 1_200, 9_000), false, "not d2's hold");
      assert.equal(await s.leaseOpen(keys, field, "d1", "L1", '{"n":1}', 1_200, 5_000), true);
      assert.equal(await s.leaseOpen(keys, field, "d1", "L1", '{"n":1}', 1_200, 5_000), true, "a redelivery");
      assert.deepEqual(await s.leaseHold(keys, field, "d3", 99_000, 500), { state: "held", by: "L|L1" }, "no lapse");
      assert.equal(await s.leaseDrop(keys, field, "d1"), false, "a lease is not a pending hold");
      assert.deepEqual(await s.leaseGet(keys, "L1"), { id: "L1", doc: '{"n":1}', due: 5_000, end: undefined });
      assert.equal(await s.leaseExtend(keys, "L1", 7_000), "ok");
      assert.equal(await s.leaseExtend(keys, "nope", 7_000), "unknown");
      assert.deepEqual(await s.leaseClaim(keys, 6_000, 1_000, 10), [], "not due yet: it was extended");
      const claimed = await s.leaseClaim(keys, 7_000, 1_000, 10);
      assert.deepEqual(claimed, [{ id: "L1", doc: '{"n":1}', due: undefined, end: '{"why":"expired","at":7000}' }]);
      assert.deepEqual(await s.leaseClaim(keys, 7_500, 1_000, 10), [], "claimed once");
      assert.equal(await s.leaseExtend(keys, "L1", 20_000), "ended");
      assert.equal(await s.leaseRelease(keys, "L1", 7_600, "{}"), "ended", "its reverse is running");
      // The claim lapses (its scheduler died): claimed again, with the same end.
      const again = await s.leaseClaim(keys, 8_001, 1_000, 10);
      assert.deepEqual(
        again.map((r) => [r.id, r.end]),
        [["L1", '{"why":"expired","at":7000}']],
      );
      await s.leaseRetry(keys, "L1", 9_000, '{"why":"expired","attempts":1}');
      assert.deepEqual(await s.leaseGet(keys, "L1"), {
        id: "L1",
        doc: '{"n":1}',
        due: 9_000,
        end: '{"why":"expired","attempts":1}',
      });
      assert.equal((await s.leaseClaim(keys, 9_000, 1_000, 10)).length, 1);
      await s.leaseRetry(keys, "L1", 0, '{"why":"expired","attempts":2,"parked":true}');
      assert.equal((await s.leaseGet(keys, "L1"))?.due, undefined, "parked");
      assert.deepEqual(await s.leaseClaim(keys, 99_000, 1_000, 10), [], "a parked lease is not claimed");
      assert.equal(await s.leaseRelease(keys, "L1", 99_000, "{}"), "ok", "released again: due now");
      const last = await s.leaseClaim(keys, 99_000, 1_000, 10);
      assert.equal(last[0]?.end, '{"why":"expired","attempts":2,"parked":true}', "the end kept");
      await s.leaseEnd(keys, "L1", field);
      assert.equal(await s.leaseGet(keys, "L1"), undefined);
      assert.deepEqual(await s.leaseList(keys, 0, 10), []);
      assert.deepEqual(await s.leaseHold(keys, field, "d3", 99_000, 500), { state: "acquired" }, "freed");
    });

    test("leases: release ends a lease in force at once; a lapsed hold frees; a list pages oldest first", async () => {
      const s = await store();
      const keys = leaseKeys(uniquePrefix("leases2"));
      assert.deepEqual(await s.leaseHold(keys, "f1", "o1", 1_000, 100), { state: "acquired" });
      assert.deepEqual(await s.leaseHold(keys, "f1", "o2", 1_100, 100), { state: "acquired" }, "o1's hold lapsed");
      assert.equal(await s.leaseDrop(keys, "f1", "o1"), false);
      assert.equal(await s.leaseDrop(keys, "f1", "o2"), true);
      for (const [i, f] of ["f1", "f2", "f3"].entries())
        assert.equal(await s.leaseOpen(keys, f, "o", `L${i}`, `{"i":${i}}`, 2_000 + i, 60_000), true, "free field");
      assert.deepEqual(
        (await s.leaseList(keys, 1, 5)).map((r) => r.id),
        ["L1", "L2"],
      );
      assert.equal(await s.leaseRelease(keys, "L1", 3_000, '{"why":"released","by":"ana"}'), "ok");
      assert.equal(await s.leaseRelease(keys, "L1", 3_001, "{}"), "ended", "once");
      assert.equal(await s.leaseRelease(keys, "nope", 3_001, "{}"), "unknown");
      const rows = await s.leaseClaim(keys, 3_000, 1_000, 10);
      assert.deepEqual(
        rows.map((r) => [r.id, r.end]),
        [["L1", '{"why":"released","by":"ana"}']],
      );
      const listed = await s.leaseList(keys, 0, 10);
      assert.deepEqual(
        listed.map((r) => [r.id, r.due, r.end]),
        [
          ["L0", 60_000, undefined],
          ["L1", undefined, '{"why":"released","by":"ana"}'],
          ["L2", 60_000, undefined],
        ],
      );
      await refused(s.leaseHold(keys, "f9", "o", 1, 0), "hold 0");
      await refused(s.leaseClaim(keys, 1, 1_000, 0), "limit 0");
      await refused(s.leaseList(keys, -1, 1), "offset -1");
    });
  });
}

describe("Redis errors", () => {
  test("a real Lua script error (Redis refusing SET PX 0) is RIPOSTE_STATE_SCRIPT, not retriable", async () => {
    const s = new RedisState(await requireRedis());
    try {
      await s.ready();
      // The scripts' own call path, bypassing the TTL check, so Redis itself raises the error.
      const call = (s as unknown as { call: (n: string, k: string[], a: Array<string | number>) => Promise<unknown> })
        .call;
      const k = stateKey(uniquePrefix("lua-err"), "host:a", "action", "1");
      await refused(call("claim", [k], ["o1", 0]), "claim with PX 0", /^Redis claim refused: ERR invalid expire time/);
      await refused(call("window-add", [k], ["m", "not-a-time", 1_000]), "ZADD with a bad score", /ERR/);
    } finally {
      await s.close();
    }
  });

  test("an unreachable Redis is RIPOSTE_STATE_UNAVAILABLE, retriable", async () => {
    const s = new RedisState("redis://127.0.0.1:1");
    try {
      await assert.rejects(
        s.seen(stateKey(uniquePrefix("down"), "host:a", "fp", "x"), 1_000),
        (e) => isRiposteError(e) && e.code === "RIPOSTE_STATE_UNAVAILABLE" && e.retriable,
      );
    } finally {
      await s.close();
    }
  });
});

test("every Lua script is <name>-<numKeys>.lua with a KEYS/ARGV header", () => {
  const scripts = loadScripts();
  assert.ok(scripts.length >= 5);
  for (const s of scripts) {
    assert.match(s.lua, /^--\[\[/, `${s.name} starts with a header`);
    for (let i = 1; i <= s.numberOfKeys; i++)
      assert.match(s.lua, new RegExp(`KEYS\\[${i}\\]`), `${s.name} documents KEYS[${i}]`);
    assert.match(s.lua, /Returns:/, `${s.name} documents its return`);
  }
});

test("state keys carry the entity as a Redis Cluster hash tag", () => {
  assert.equal(stateKey("riposte", "host:web-1", "fp", "abc"), "riposte:{host:web-1}:fp:abc");
});
