/**
 * The containment and guards API on in-memory state: listing leases, extend and release (analyst and above, each
 * audited with its actor; 403 for a viewer, 404 unknown, 409 ended, 400 bad bodies), and every guard with its use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import type { ApiToken } from "../shared/roles.ts";
import { Guards, defaultGuardSettings } from "../executor/guards.ts";
import { parseBudgets } from "../executor/guard-config.ts";
import { Leases, type LeaseDoc } from "../executor/leases.ts";
import type { ApiAuditRecord } from "./audit.ts";
import { buildApi } from "./app.ts";

const TOKENS: readonly ApiToken[] = [
  { name: "vic", role: "viewer", token: "containment-viewer-token-0123" },
  { name: "ana", role: "analyst", token: "containment-analyst-token-012" },
  { name: "adm", role: "admin", token: "containment-admin-token-01234" },
];
const HOUR = 3_600_000;

async function setup() {
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const state = new MemoryState({ now });
  const leases = new Leases({ state, prefix: "capi", now });
  const guards = new Guards({
    state,
    prefix: "capi",
    settings: defaultGuardSettings({ budgets: parseBudgets("containment:20/10m,rule:*:containment:5/10m").value }),
    now,
  });
  const audits: ApiAuditRecord[] = [];
  const app = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: undefined,
    apiTokens: TOKENS,
    audit: async (r) => void audits.push(r),
    sourceTokens: {},
    maxBodyBytes: 4096,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    killSwitch: {
      get: () => guards.killSwitch(),
      set: (on, reason, by) => guards.setKillSwitch(on, reason, by),
    },
    containment: { leases, guards: () => guards.view() },
  });
  const doc: LeaseDoc = {
    id: "lease1",
    field: "host:web-01|crowdstrike.contain_host",
    target: { type: "host", value: "web-01" },
    connector: "crowdstrike",
    action: "contain_host",
    reverse: { action: "lift_containment", input: { host: "web-01" } },
    rule_id: "lateral-movement",
    decision_id: "d1",
    playbook: "isolate-host",
    step: "contain",
    alert_uid: "a1",
    action_id: "act1",
    since: clock,
    ttl_ms: HOUR,
  };
  assert.equal(await leases.open(doc, "d1"), true);
  const call = (role: "viewer" | "analyst" | "admin", method: "GET" | "POST" | "PUT", url: string, body?: unknown) =>
    app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${TOKENS.find((t) => t.role === role)?.token ?? ""}`,
        "content-type": "application/json",
      },
      ...(body === undefined ? {} : { payload: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  return { app, state, leases, guards, audits, call, tick: (ms: number) => (clock += ms), now };
}

test("GET /v1/containment lists the leases in force with target, action, rule, since and expires", async () => {
  const { call, now } = await setup();
  const res = await call("viewer", "GET", "/v1/containment");
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), {
    leases: [
      {
        id: "lease1",
        status: "active",
        target: { type: "host", value: "web-01" },
        connector: "crowdstrike",
        action: "contain_host",
        reverse: "lift_containment",
        rule_id: "lateral-movement",
        decision_id: "d1",
        playbook: "isolate-host",
        since: new Date(now()).toISOString(),
        expires: new Date(now() + HOUR).toISOString(),
      },
    ],
  });
  assert.equal((await call("viewer", "GET", "/v1/containment?limit=0")).statusCode, 400);
  assert.equal(
    (await call("viewer", "GET", "/v1/containment?offset=1")).json<{ leases: unknown[] }>().leases.length,
    0,
  );
});

test("extend and release: analyst and above, audited with the actor; a viewer gets 403", async () => {
  const { call, audits, tick, now } = await setup();
  const denied = await call("viewer", "POST", "/v1/containment/lease1/extend", { ttl: "2h" });
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json<{ error: { code: string } }>().error.code, "RIPOSTE_ROLE_FORBIDDEN");
  assert.equal((await call("viewer", "POST", "/v1/containment/lease1/release")).statusCode, 403);
  tick(HOUR / 2);
  const extended = await call("analyst", "POST", "/v1/containment/lease1/extend", { ttl: "2h" });
  assert.equal(extended.statusCode, 200, extended.body);
  assert.equal(extended.json<{ expires: string }>().expires, new Date(now() + 2 * HOUR).toISOString());
  for (const bad of [{ ttl: "forever" }, { ttl: "0s" }, { ttl: "31d" }, { ttl: "2h", extra: 1 }, "not json"]) {
    const res = await call("analyst", "POST", "/v1/containment/lease1/extend", bad);
    assert.equal(res.statusCode, 400, JSON.stringify(bad));
    assert.equal(res.json<{ error: { code: string } }>().error.code, "RIPOSTE_BODY_INVALID");
  }
  assert.equal((await call("analyst", "POST", "/v1/containment/nope/extend", { ttl: "1h" })).statusCode, 404);
  const released = await call("analyst", "POST", "/v1/containment/lease1/release", { reason: "false positive" });
  assert.equal(released.statusCode, 200, released.body);
  assert.equal(released.json<{ status: string }>().status, "releasing");
  assert.deepEqual(released.json<{ ended: unknown }>().ended, { why: "released", at: now(), by: "ana" });
  const again = await call("admin", "POST", "/v1/containment/lease1/release");
  assert.equal(again.statusCode, 409);
  assert.equal(again.json<{ error: { code: string } }>().error.code, "RIPOSTE_LEASE_ENDED");
  assert.equal((await call("analyst", "POST", "/v1/containment/lease1/extend", { ttl: "1h" })).statusCode, 409);
  assert.equal((await call("analyst", "POST", "/v1/containment/bad%20id/release")).statusCode, 400);
  const writes = audits.map((a) => [a.action, a.actor, a.target, a.result.status]);
  assert.deepEqual(writes.slice(0, 3), [
    ["containment.extend", "vic", "lease1", 403],
    ["containment.release", "vic", "lease1", 403],
    ["containment.extend", "ana", "lease1", 200],
  ]);
  const release = audits.find((a) => a.action === "containment.release" && a.result.status === 200);
  assert.deepEqual(release?.request, { reason: "false positive" });
  assert.equal(release?.actor, "ana");
});

test("GET /v1/guards: every budget with its limit, window and use, the kill switch with who and why", async () => {
  const { call, guards } = await setup();
  const subject = { rule: "r1", classification: "containment" as const, connector: "crowdstrike", action: "c" };
  await guards.takeBudgets("a1", subject);
  await guards.takeBudgets("a2", subject);
  await guards.takeBudgets("a3", { ...subject, rule: "r2" });
  const set = await call("admin", "PUT", "/v1/guards/kill-switch", { on: true, reason: "bridge call" });
  assert.equal(set.statusCode, 200);
  const res = await call("viewer", "GET", "/v1/guards");
  assert.equal(res.statusCode, 200);
  const body = res.json<Record<string, unknown>>();
  assert.deepEqual(body["budgets"], [
    { budget: "containment:20/10m", what: "containment", scope: "global", limit: 20, window: "10m", used: 3 },
    { budget: "rule:*:containment:5/10m", what: "containment", scope: "rule:r1", limit: 5, window: "10m", used: 2 },
    { budget: "rule:*:containment:5/10m", what: "containment", scope: "rule:r2", limit: 5, window: "10m", used: 1 },
  ]);
  const ks = body["kill_switch"] as { on: boolean; api: Record<string, unknown> };
  assert.equal(ks.on, true);
  assert.equal(ks.api["reason"], "bridge call");
  assert.equal(ks.api["by"], "adm");
  assert.equal(typeof ks.api["since"], "number");
  assert.deepEqual(body["rate_limits"], [{ connector: "*", requests: 50, per: "1s" }]);
  assert.deepEqual(body["breakers"], [{ connector: "*", failures: 5, open_for: "30s", state: {} }]);
  assert.equal(body["max_decision_age"], "1h");
});
