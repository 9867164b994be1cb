/** One conformance suite for both state stores: in-memory and Redis (real server, atomic Lua scripts). */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { MemoryState, RedisState, loadScripts, stateKey, type StateStore } from "../services/shared/state/index.ts";
import { isRiposteError } from "../services/shared/errors.ts";
import { requireRedis, uniquePrefix } from "./support/env.ts";

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
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
