/**
 * Roles on every route (table-driven over ROUTES in openapi.ts), the audit of every write on `<prefix>.audit`, and
 * the approvals routes' answers (403 below the gate's role, 409 when expired or already decided).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBus } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { MemoryState } from "../services/shared/state/index.ts";
import { Ingestor } from "../services/ingest/ingestor.ts";
import { replayDlq } from "../services/ingest/replay.ts";
import { buildApi, leastRole } from "../services/api/app.ts";
import { ROUTES } from "../services/api/openapi.ts";
import { MemoryTrailStore } from "../services/api/trail.ts";
import { StateIncidents } from "../services/api/incidents.ts";
import type { ApiAuditRecord } from "../services/api/audit.ts";
import { RunStore } from "../services/executor/runs.ts";
import { Leases } from "../services/executor/leases.ts";
import { Guards, defaultGuardSettings } from "../services/executor/guards.ts";
import { ApprovalStore, type ApprovalVerdict, type PendingApproval } from "../services/executor/approvals.ts";
import { ROLES, atLeast, type ApiToken, type Role } from "../services/shared/roles.ts";

const ADMIN = "roles-admin-token-0123456789";
const TOKENS: readonly ApiToken[] = [
  { name: "vic", role: "viewer", token: "roles-viewer-token-0123456789" },
  { name: "ana", role: "analyst", token: "roles-analyst-token-0123456789" },
  { name: "apo", role: "approver", token: "roles-approver-token-0123456789" },
  { name: "adm", role: "admin", token: "roles-named-admin-token-012345" },
];
const tokenOf = (role: Role) => TOKENS.find((t) => t.role === role)?.token ?? ADMIN;

function fullApi(opts: { failAudit?: boolean; now?: () => number } = {}) {
  const bus = new MemoryBus();
  const topics = topicNames("roles");
  const state = new MemoryState();
  const ingestor = new Ingestor({ bus, topics, metrics: new Metrics() });
  const audits: ApiAuditRecord[] = [];
  const verdicts: ApprovalVerdict[] = [];
  const store = new ApprovalStore({ state, prefix: "roles", ...(opts.now ? { now: opts.now } : {}) });
  const app = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: ADMIN,
    apiTokens: TOKENS,
    audit: async (r) => {
      if (opts.failAudit) throw new Error("bus down");
      audits.push(r);
    },
    sourceTokens: { demo: "demo-source-token-0123456789" },
    maxBodyBytes: 4096,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    ingestor,
    replay: (o) => replayDlq({ bus, topics, ingestor, state, groupId: "g", ...o }),
    trail: new MemoryTrailStore(60_000),
    incidents: new StateIncidents({ state, prefix: "roles", retentionMs: 60_000 }),
    runs: new RunStore({ state, prefix: "roles" }),
    rules: { status: async () => undefined, reload: async () => ({ requested_at: 1 }) },
    killSwitch: { get: async () => ({ on: false }), set: async (on) => ({ on }) },
    edl: { tokens: { block: "edl-block-token-0123456789" }, text: async () => "" },
    approvals: { store, publish: async (v) => void verdicts.push(v) },
    containment: {
      leases: new Leases({ state, prefix: "roles" }),
      guards: () => new Guards({ state, prefix: "roles", settings: defaultGuardSettings() }).view(),
    },
  });
  return { app, bus, audits, verdicts, store };
}

const urlOf = (path: string) =>
  path
    .replace("{source}", "demo")
    .replace("{name}", "block")
    .replace(/\{\w+\}/g, "x1");

const bodyOf = (method: string, path: string) =>
  path === "/v1/approvals" ? JSON.stringify({ ids: ["x1"], decision: "deny" }) : method === "GET" ? undefined : "{}";

test("every route answers 403 below its least role and never 401/403 at or above it", async () => {
  const { app, bus } = fullApi();
  const rows: string[] = [];
  for (const r of ROUTES.filter((x) => x.auth !== false)) {
    for (const role of ROLES) {
      const payload = bodyOf(r.method, r.path);
      const res = await app.inject({
        method: r.method,
        url: urlOf(r.path),
        headers: { authorization: `Bearer ${tokenOf(role)}`, "content-type": "application/json" },
        ...(payload === undefined ? {} : { payload }),
      });
      const allowed = atLeast(role, leastRole(r));
      const what = `${r.method} ${r.path} as ${role}: ${res.statusCode} ${res.body.slice(0, 200)}`;
      if (allowed) assert.ok(res.statusCode !== 401 && res.statusCode !== 403, what);
      else {
        assert.equal(res.statusCode, 403, what);
        assert.equal(res.json<{ error: { code: string } }>().error.code, "RIPOSTE_ROLE_FORBIDDEN", what);
      }
      rows.push(`${r.method} ${r.path} ${role} ${allowed ? "allowed" : "403"}`);
    }
  }
  // The brief's matrix, read off the table.
  for (const row of [
    "PUT /v1/guards/kill-switch viewer 403",
    "POST /v1/dlq/replay viewer 403",
    "PATCH /v1/incidents/{id} viewer 403",
    "PATCH /v1/incidents/{id} analyst allowed",
    "POST /v1/dlq/replay analyst allowed",
    "POST /v1/approvals/{id}/approve analyst 403",
    "POST /v1/approvals/{id}/approve approver allowed",
    "POST /v1/approvals approver allowed",
    "PUT /v1/guards/kill-switch approver 403",
    "POST /v1/rules/reload approver 403",
    "PUT /v1/guards/kill-switch admin allowed",
    "POST /v1/rules/reload admin allowed",
    "GET /v1/approvals viewer allowed",
    "GET /v1/containment viewer allowed",
    "GET /v1/guards viewer allowed",
    "POST /v1/containment/{id}/extend viewer 403",
    "POST /v1/containment/{id}/release viewer 403",
    "POST /v1/containment/{id}/extend analyst allowed",
    "POST /v1/containment/{id}/release analyst allowed",
  ])
    assert.ok(rows.includes(row), row);
  await app.close();
  await bus.close();
});

test("401 without a token or with an unknown one; a source's or a list's own token only where it belongs", async () => {
  const { app, bus } = fullApi();
  for (const headers of [{}, { authorization: "Bearer not-a-known-token-0123456789" }]) {
    const res = await app.inject({ method: "GET", url: "/v1/approvals", headers });
    assert.equal(res.statusCode, 401);
  }
  const src = { authorization: "Bearer demo-source-token-0123456789" };
  const ingest = await app.inject({ method: "POST", url: "/v1/alerts/demo", headers: src, payload: "{}" });
  assert.ok(![401, 403].includes(ingest.statusCode), "a source's own token ingests for it");
  assert.equal((await app.inject({ method: "GET", url: "/v1/approvals", headers: src })).statusCode, 401);
  const edl = { authorization: "Bearer edl-block-token-0123456789" };
  assert.equal((await app.inject({ method: "GET", url: "/v1/edl/block", headers: edl })).statusCode, 200);
  assert.equal((await app.inject({ method: "GET", url: "/v1/stats", headers: edl })).statusCode, 401);
  await app.close();
  await bus.close();
});

test("every write is audited on <prefix>.audit: actor, role, action, target, result; never a token", async () => {
  const { app, bus, audits } = fullApi();
  const writes = ROUTES.filter((r) => r.method !== "GET" && r.path !== "/v1/alerts/{source}");
  assert.ok(writes.length >= 7);
  for (const r of writes) {
    assert.ok(r.audit, `${r.method} ${r.path} names its audit action`);
    const payload = bodyOf(r.method, r.path);
    await app.inject({
      method: r.method,
      url: urlOf(r.path),
      headers: { authorization: `Bearer ${TOKENS[3]?.token}`, "content-type": "application/json" },
      ...(payload === undefined ? {} : { payload }),
    });
    const rec = audits.at(-1);
    assert.equal(rec?.action, r.audit, `${r.method} ${r.path} audited`);
    assert.equal(rec?.actor, "adm");
    assert.equal(rec?.role, "admin");
    assert.equal(rec?.remote, "127.0.0.1");
    assert.equal(typeof rec?.result.status, "number");
  }
  assert.deepEqual([...new Set(audits.map((a) => a.action))].sort(), [
    "approval.approve",
    "approval.batch",
    "approval.deny",
    "containment.extend",
    "containment.release",
    "dlq.replay",
    "guards.kill_switch",
    "incident.update",
    "rules.reload",
  ]);
  // A refused write is audited too, with its 403; the body is summarized without anything named like a secret.
  const before = audits.length;
  const refused = await app.inject({
    method: "PUT",
    url: "/v1/guards/kill-switch",
    headers: { authorization: `Bearer ${tokenOf("viewer")}`, "content-type": "application/json" },
    payload: JSON.stringify({ on: true, reason: "drill", api_token: "leak-0123456789abcdef" }),
  });
  assert.equal(refused.statusCode, 403);
  const rec = audits[before];
  assert.equal(rec?.actor, "vic");
  assert.equal(rec?.result.status, 403);
  assert.equal(rec?.result.code, "RIPOSTE_ROLE_FORBIDDEN");
  assert.deepEqual(rec?.request, {}, "refused before its body was read");
  await app.inject({
    method: "PUT",
    url: "/v1/guards/kill-switch",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    payload: JSON.stringify({ on: true, reason: "drill", api_token: "leak-0123456789abcdef" }),
  });
  assert.equal(audits.at(-1)?.actor, "admin");
  assert.deepEqual(audits.at(-1)?.request, { on: true, reason: "drill", api_token: "[redacted]" });
  const text = JSON.stringify(audits);
  for (const t of [ADMIN, ...TOKENS.map((x) => x.token), "leak-0123456789abcdef"])
    assert.ok(!text.includes(t), "no token in an audit record");
  // Reads are not audited.
  const n = audits.length;
  await app.inject({ method: "GET", url: "/v1/approvals", headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(audits.length, n);
  await app.close();
  await bus.close();
});

test("a write whose audit record cannot be published answers 503", async () => {
  const { app, bus } = fullApi({ failAudit: true });
  const res = await app.inject({
    method: "PUT",
    url: "/v1/guards/kill-switch",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    payload: JSON.stringify({ on: false }),
  });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json<{ error: { code: string } }>().error.code, "RIPOSTE_AUDIT_UNAVAILABLE");
  await app.close();
  await bus.close();
});

function pending(id: string, now: number, over: Partial<PendingApproval> = {}): PendingApproval {
  return {
    id,
    decision: {
      id: `d-${id}`,
      outcome: "respond",
      time: now,
      alert: {
        uid: "a",
        fingerprint: "f",
        entity_key: "host:web-01",
        class_uid: 2004,
        title: "t",
        source: "s",
        severity_id: 4,
        time: 1,
      },
      playbook: "isolate-host",
      target: { type: "host", value: "web-01" },
    },
    playbook: { id: "isolate-host", version: 1, steps: [{ id: "contain" }] },
    step_index: 0,
    step: "contain",
    connector: "crowdstrike",
    action: "contain_host",
    classification: "containment",
    roles: ["approver"],
    on_expiry: "deny",
    plan: { request: { host: "web-01" } },
    why: {
      alert: {
        uid: "a",
        fingerprint: "f",
        entity_key: "host:web-01",
        class_uid: 2004,
        title: "t",
        source: "s",
        severity_id: 4,
        time: 1,
      },
    },
    requested_at: now,
    expires_at: now + 60_000,
    ...over,
  };
}

test("approvals routes: an approver decides once (409 after), analysts get 403, expired answers 409, batches", async () => {
  let now = Date.now();
  const { app, bus, store, verdicts, audits } = fullApi({ now: () => now });
  await store.request(pending("p1", now));
  await store.request(pending("p2", now));
  await store.request(pending("p3", now, { roles: ["admin"] }));
  await store.request(pending("p4", now));
  const as = (role: Role) => ({ authorization: `Bearer ${tokenOf(role)}`, "content-type": "application/json" });
  const list = await app.inject({ method: "GET", url: "/v1/approvals", headers: as("viewer") });
  assert.deepEqual(
    list.json<{ approvals: PendingApproval[] }>().approvals.map((a) => [a.id, a.plan]),
    ["p1", "p2", "p3", "p4"].map((id) => [id, { request: { host: "web-01" } }]),
  );
  const post = (url: string, role: Role, body?: unknown) =>
    app.inject({
      method: "POST",
      url,
      headers: as(role),
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  assert.equal((await post("/v1/approvals/p1/approve", "analyst")).statusCode, 403);
  const ok = await post("/v1/approvals/p1/approve", "approver", { comment: "go" });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json<ApprovalVerdict>().by, "apo");
  assert.deepEqual(
    verdicts.map((v) => [v.id, v.verdict, v.by, v.comment]),
    [["p1", "approved", "apo", "go"]],
  );
  assert.equal(audits.at(-1)?.action, "approval.approve");
  assert.equal(audits.at(-1)?.target, "p1");
  const again = await post("/v1/approvals/p1/deny", "approver");
  assert.equal(again.statusCode, 409);
  assert.equal(again.json<{ error: { code: string } }>().error.code, "RIPOSTE_APPROVAL_CLOSED");
  assert.equal(verdicts.length, 2, "an already decided approval's verdict is published again (heals a lost publish)");
  assert.equal((await post("/v1/approvals/p3/approve", "approver")).statusCode, 403, "the gate names admin");
  assert.equal((await post("/v1/approvals/p3/approve", "admin")).statusCode, 200);
  assert.equal((await post("/v1/approvals/nope/approve", "approver")).statusCode, 404);
  now += 60_000;
  const late = await post("/v1/approvals/p2/approve", "approver");
  assert.equal(late.statusCode, 409);
  assert.match(late.json<{ error: { message: string } }>().error.message, /expired/);
  now -= 30_000;
  const batch = await post("/v1/approvals", "approver", { ids: ["p2", "p4", "p1", "nope"], decision: "deny" });
  assert.equal(batch.statusCode, 200);
  assert.deepEqual(
    batch.json<{ results: Array<{ id: string; status: number }> }>().results.map((r) => [r.id, r.status]),
    [
      ["p2", 200],
      ["p4", 200],
      ["p1", 409],
      ["nope", 404],
    ],
  );
  assert.equal((await post("/v1/approvals", "approver", { ids: [], decision: "deny" })).statusCode, 400);
  const many = Array.from({ length: 101 }, (_, i) => `id${i}`);
  assert.equal((await post("/v1/approvals", "approver", { ids: many, decision: "approve" })).statusCode, 400);
  assert.deepEqual(
    (await store.pending()).map((p) => p.id),
    [],
  );
  await app.close();
  await bus.close();
});
