/** One conformance suite for both state stores: in-memory and Redis (real server, atomic Lua scripts). */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { MemoryState, RedisState, loadScripts, stateKey, type StateStore } from "../services/shared/state/index.ts";
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
  });
}

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
