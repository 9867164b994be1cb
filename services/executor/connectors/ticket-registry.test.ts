/** The shared ticket registry: one opener at a time per dedup key, then the recorded reference for everyone. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryState } from "../../shared/state/index.ts";
import { TicketRegistry } from "./ticket-registry.ts";

const registry = (state = new MemoryState()) =>
  new TicketRegistry({ state, statePrefix: "reg-test", now: () => Date.now() }, "jira");

test("the first claim may open the ticket; a second waits (rate limited, nothing sent); then all see the record", async () => {
  const r = registry();
  const first = await r.claim("inc-1");
  assert.equal(first.state, "mine");
  await assert.rejects(r.claim("inc-1"), { code: "RIPOSTE_CONNECTOR_RATE_LIMITED", message: /another executor/ });
  await assert.rejects(r.recorded("inc-1"), { code: "RIPOSTE_CONNECTOR_RATE_LIMITED" });
  if (first.state === "mine") await first.finish({ id: "10001", key: "SEC-1" });
  assert.deepEqual(await r.claim("inc-1"), { state: "recorded", ref: { id: "10001", key: "SEC-1" } });
  assert.deepEqual(await r.recorded("inc-1"), { id: "10001", key: "SEC-1" });
  assert.equal((await r.claim("inc-2")).state, "mine", "keys are independent");
});

test("an abandoned claim lets the next one open; reading an unrecorded key leaves no claim behind", async () => {
  const r = registry();
  const first = await r.claim("inc-1");
  if (first.state === "mine") await first.abandon();
  assert.equal((await r.claim("inc-1")).state, "mine");
  assert.equal(await r.recorded("inc-3"), undefined);
  assert.equal((await r.claim("inc-3")).state, "mine");
});
