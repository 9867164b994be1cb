/**
 * The ledger's one heartbeat: every claim held (and the locks they hold) stays alive past its TTL however many
 * there are and whenever each was taken; a claim given up is no longer renewed, and its key frees within one TTL.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger } from "../shared/log.ts";
import { MemoryState } from "../shared/state/index.ts";
import { Ledger, type Claim } from "./ledger.ts";

const TTL = 90;

async function acquired(ledger: Ledger, key: string): Promise<Claim> {
  const b = await ledger.begin(key, key);
  assert.equal(b.kind, "acquired");
  return (b as { claim: Claim }).claim;
}

test("one heartbeat renews every live claim and its held locks; released ones lapse", async () => {
  const state = new MemoryState();
  const ledger = new Ledger({ state, log: silentLogger, claimTtlMs: TTL, doneTtlMs: 60_000 });
  const a = await acquired(ledger, "k:a");
  await sleep(TTL / 2);
  // Taken between two beats: renewed in time all the same.
  const b = await acquired(ledger, "k:b");
  await state.claim("k:lock", b.owner, TTL);
  b.hold("k:lock");
  const c = await acquired(ledger, "k:c");
  await c.release();
  await sleep(TTL * 4);
  for (const key of ["k:a", "k:b", "k:lock"])
    assert.equal((await state.claim(key, "intruder", TTL)).state, "held", `${key} still held by its owner`);
  assert.equal((await state.claim("k:c", "intruder", TTL)).state, "acquired", "a released claim is free");
  b.unhold("k:lock");
  await b.complete("done");
  await sleep(TTL * 2);
  assert.equal((await state.claim("k:lock", "intruder", TTL)).state, "acquired", "an unheld lock lapses");
  assert.deepEqual(await state.claim("k:b", "intruder", TTL), { state: "done", result: "done" });
  await a.release();
  await state.close();
});
