/** The served lists on Redis: the same block, unblock and expiry semantics as in memory, across two clients. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { addEntry, edlKey, edlText, listEntries, removeEntry } from "../services/executor/connectors/edl/index.ts";
import { RedisState } from "../services/shared/state/index.ts";
import { requireRedis, uniquePrefix } from "./support/env.ts";

test("EDL lists on Redis: two executors' blocks and unblocks are all kept; expiry and the latest event decide", async () => {
  const url = await requireRedis();
  const prefix = uniquePrefix("edl");
  const a = new RedisState(url);
  const b = new RedisState(url);
  await Promise.all([a.ready(), b.ready()]);
  try {
    const t = Date.now();
    await Promise.all([
      addEntry(a, prefix, "block", "203.0.113.7", t + 60_000, t),
      addEntry(b, prefix, "block", "198.51.100.0/24", t + 60_000, t),
      addEntry(a, prefix, "block", "192.0.2.1", t + 1_000, t),
    ]);
    assert.equal(edlText(await listEntries(b, prefix, "block", t + 1)), "192.0.2.1\n198.51.100.0/24\n203.0.113.7\n");
    await removeEntry(b, prefix, "block", "203.0.113.7", t + 2);
    assert.equal(edlText(await listEntries(a, prefix, "block", t + 1_001)), "198.51.100.0/24\n", "unblocked, expired");
  } finally {
    const raw = new Redis(url);
    await raw.del(edlKey(prefix, "block"));
    raw.disconnect();
    await a.close();
    await b.close();
  }
});
