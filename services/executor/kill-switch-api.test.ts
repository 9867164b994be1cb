/** The kill-switch API: `GET/PUT /v1/guards/kill-switch` with the API token, stored in shared state. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildApi } from "../api/app.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import { Guards, defaultGuardSettings } from "./guards.ts";

const TOKEN = "kill-switch-token-0123456789";

function api(guards: Guards) {
  return buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: TOKEN,
    sourceTokens: { edr: "edr-source-token-0123456789" },
    maxBodyBytes: 4096,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    killSwitch: { get: () => guards.killSwitch(), set: (on, reason) => guards.setKillSwitch(on, reason) },
  });
}

test("the API turns the shared kill switch on and off; executors on the same state see it", async () => {
  const state = new MemoryState();
  const guards = new Guards({ state, prefix: "t-api", settings: defaultGuardSettings() });
  const executorSide = new Guards({ state, prefix: "t-api", settings: defaultGuardSettings() });
  const app = api(guards);
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = await app.inject({ method: "GET", url: "/v1/guards/kill-switch", headers: auth });
  assert.equal(get.statusCode, 200);
  assert.equal(get.json<{ on: boolean }>().on, false);
  const put = await app.inject({
    method: "PUT",
    url: "/v1/guards/kill-switch",
    headers: { ...auth, "content-type": "application/json" },
    payload: JSON.stringify({ on: true, reason: "forged detections" }),
  });
  assert.equal(put.statusCode, 200);
  assert.deepEqual(
    (({ on, api: a }) => ({ on, reason: a.reason }))(put.json<{ on: boolean; api: { reason: string } }>()),
    {
      on: true,
      reason: "forged detections",
    },
  );
  assert.equal((await executorSide.killSwitch()).on, true, "every executor sees it");
  const off = await app.inject({
    method: "PUT",
    url: "/v1/guards/kill-switch",
    headers: auth,
    payload: '{"on":false}',
  });
  assert.equal(off.json<{ on: boolean }>().on, false);
  await app.close();
});

test("the kill-switch API needs the API token and a well-formed body", async () => {
  const app = api(new Guards({ state: new MemoryState(), prefix: "t-api2", settings: defaultGuardSettings() }));
  const url = "/v1/guards/kill-switch";
  assert.equal((await app.inject({ method: "GET", url })).statusCode, 401);
  const source = { authorization: "Bearer edr-source-token-0123456789" };
  assert.equal((await app.inject({ method: "PUT", url, headers: source, payload: '{"on":true}' })).statusCode, 401);
  const auth = { authorization: `Bearer ${TOKEN}` };
  for (const payload of [
    "",
    "on",
    '{"on":"yes"}',
    '{"on":true,"by":"x"}',
    JSON.stringify({ on: true, reason: "x".repeat(501) }),
  ]) {
    const res = await app.inject({ method: "PUT", url, headers: auth, payload });
    assert.equal(res.statusCode, 400, payload);
    assert.equal(res.json<{ error: { code: string } }>().error.code, "RIPOSTE_BODY_INVALID");
  }
  await app.close();
});
