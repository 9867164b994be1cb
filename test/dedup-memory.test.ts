/**
 * What the correlator's dedup state costs per alert in Redis (MEMORY USAGE), against the layout it replaced: one
 * claim key per alert (`<prefix>:{<entity>}:fp:<fingerprint>` holding `P<delivery>`, with a TTL). Prints the figures
 * and holds the new layout to a bound. Run: npx node --test test/dedup-memory.test.ts
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { stableId } from "../services/shared/ids.ts";
import { RedisState, stateKey } from "../services/shared/state/index.ts";
import { dedupValue } from "../services/correlator/dedup.ts";
import { requireRedis, uniquePrefix } from "./support/env.ts";

const DAY = 86_400_000;

async function bytes(redis: Redis, pattern: string): Promise<{ keys: number; bytes: number }> {
  let cursor = "0";
  let keys = 0;
  let total = 0;
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    for (const k of found) total += Number(await redis.memory("USAGE", k, "SAMPLES", 0));
    keys += found.length;
    cursor = next;
  } while (cursor !== "0");
  return { keys, bytes: total };
}

async function measure(
  entities: number,
  perEntity: number,
  traced: boolean,
): Promise<{ before: number; after: number }> {
  const url = await requireRedis();
  const redis = new Redis(url);
  const state = new RedisState(url);
  const before = uniquePrefix("dedup-before");
  const after = uniquePrefix("dedup-after");
  try {
    for (let e = 0; e < entities; e++) {
      const entity = `host:fin-ws-${String(e).padStart(4, "0")}`;
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < perEntity; i++) {
        const fp = stableId("crowdstrike_falcon", entity, i);
        const delivery = `riposte.alerts.normalized/3/${1_000_000 + e * perEntity + i}`;
        writes.push(redis.set(stateKey(before, entity, "fp", fp), `P${delivery}`, "PX", DAY));
        const key = stateKey(after, entity, "seen", String(Math.floor(1_795_165_200_000 / DAY)));
        // Where traces are exported, the deciding span is kept too (32 more characters) for the duplicate's link.
        const span = { traceId: stableId("trace", fp).slice(0, 32), spanId: stableId("span", fp).slice(0, 16) };
        const value = dedupValue(stableId(fp).slice(0, 8), delivery, traced ? span : undefined);
        writes.push(state.record(key, fp.slice(0, 16), value, 2 * DAY));
      }
      await Promise.all(writes);
    }
    const n = entities * perEntity;
    const old = await bytes(redis, `${before}:*`);
    const now = await bytes(redis, `${after}:*`);
    assert.equal(old.keys, n);
    return { before: old.bytes / n, after: now.bytes / n };
  } finally {
    for (const p of [before, after]) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${p}:*`, "COUNT", 1_000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== "0");
    }
    await state.close();
    await redis.quit();
  }
}

test("dedup state per alert in Redis: one hash field per alert instead of one key", async () => {
  for (const [entities, perEntity, bound, traced] of [
    [20, 100, 50, false],
    [200, 10, 80, false],
    [1_000, 1, 250, false],
    // Traces exported: the deciding span is kept for the duplicate's link.
    [20, 100, 90, true],
    [200, 10, 110, true],
  ] as const) {
    const { before, after } = await measure(entities, perEntity, traced);
    console.log(
      `dedup bytes per alert, ${perEntity} alert(s) per entity and day${traced ? ", traces exported" : ""}: before ${before.toFixed(0)} B, after ${after.toFixed(0)} B`,
    );
    assert.ok(after < before, `smaller than one key per alert (${after} vs ${before})`);
    assert.ok(after <= bound, `at most ${bound} B per alert with ${perEntity} per entity, got ${after}`);
  }
});
