import { describe, test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { Incident } from "../../schemas/index.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState, incidentKeys } from "../shared/state/index.ts";
import { buildApi, type Api } from "./app.ts";
import { StateIncidents } from "./incidents.ts";
import { MemoryTrailStore } from "./trail.ts";

const TOKEN = "incidents-token-0123456789abcdef";
const PREFIX = "inc-api";
const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const auth = { authorization: `Bearer ${TOKEN}` };
const ALICE = "alice-analyst-token-0123456789";
const BOB = "bob-analyst-token-0123456789ab";

const hex = (n: number) => n.toString(16).padStart(32, "0");

function incident(n: number, over: Partial<Incident> = {}): Incident {
  return {
    id: hex(n),
    status: "open",
    entities: [`host:ws-${n}`, `user:user${n % 3}`],
    entity_count: 2,
    alert_ids: [`alert-${n}`],
    alert_count: 1,
    decisions: [],
    decision_count: 0,
    score: n * 10,
    severity_id: 3,
    severity: "Medium",
    assignee: null,
    notes: [],
    history: [],
    first_seen: T0 + n * 60_000,
    last_seen: T0 + n * 60_000,
    updated: 1,
    merged_from: [],
    version: 1,
    ...over,
  };
}

describe("incidents API", () => {
  let state: MemoryState;
  let api: Api;
  let published: Incident[];
  let trail: MemoryTrailStore;

  async function seed(list: Incident[]) {
    const r = await state.incidentSave(incidentKeys(PREFIX), {
      writes: list.map((i) => ({ id: i.id, doc: JSON.stringify(i), version: i.version, lastSeen: i.last_seen })),
      links: [],
      linkTime: T0,
      retainAfter: 0,
      linkAfter: 0,
      ttlMs: 60_000,
    });
    assert.ok(r.saved);
  }

  beforeEach(async () => {
    state = new MemoryState();
    published = [];
    trail = new MemoryTrailStore(60_000);
    api = buildApi({
      log: silentLogger,
      metrics: new Metrics(),
      apiToken: TOKEN,
      apiTokens: [
        { name: "alice", role: "analyst", token: ALICE },
        { name: "bob", role: "analyst", token: BOB },
      ],
      sourceTokens: {},
      maxBodyBytes: 64 * 1024,
      hmacSecrets: {},
      replayWindowMs: 300_000,
      trail,
      incidents: new StateIncidents({
        state,
        prefix: PREFIX,
        retentionMs: 60_000,
        now: () => 777,
        publish: async (i) => {
          published.push(i);
        },
      }),
    });
    // Ten incidents: 1..10, scores 10..100, 1..3 resolved, 10 merged.
    await seed(
      Array.from({ length: 10 }, (_, i) => {
        const n = i + 1;
        if (n <= 3) return incident(n, { status: "resolved" });
        if (n === 10) return incident(n, { status: "merged", merged_into: hex(9) });
        return incident(n);
      }),
    );
  });
  afterEach(async () => {
    await api.close();
    await state.close();
  });

  const get = async (url: string) => {
    const res = await api.inject({ method: "GET", url, headers: auth });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
  const ids = (body: Record<string, unknown>) =>
    (body["incidents"] as Incident[]).map((i) => Number.parseInt(i.id, 16));
  const patch = (id: string, payload: unknown, token = TOKEN) =>
    api.inject({
      method: "PATCH",
      url: `/v1/incidents/${id}`,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });

  test("every incident route needs the API token", async () => {
    for (const [method, url] of [
      ["GET", "/v1/incidents"],
      ["GET", `/v1/incidents/${hex(4)}`],
      ["GET", `/v1/incidents/${hex(4)}/timeline`],
      ["PATCH", `/v1/incidents/${hex(4)}`],
    ] as const) {
      const none = await api.inject({ method, url, payload: "{}" });
      assert.equal(none.statusCode, 401, `${method} ${url}`);
      assert.equal(none.json<{ error: { code: string } }>().error.code, "RIPOSTE_AUTH_MISSING");
      const wrong = await api.inject({ method, url, payload: "{}", headers: { authorization: "Bearer nope" } });
      assert.equal(wrong.statusCode, 401);
    }
  });

  test("GET /v1/incidents lists latest activity first, with filters that combine", async () => {
    const all = await get("/v1/incidents");
    assert.equal(all.status, 200);
    assert.deepEqual(ids(all.body), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.equal(all.body["next_cursor"], undefined, "one page holds them all");
    assert.deepEqual(ids((await get("/v1/incidents?status=resolved")).body), [3, 2, 1]);
    assert.deepEqual(ids((await get("/v1/incidents?min_score=75")).body), [10, 9, 8]);
    assert.deepEqual(ids((await get("/v1/incidents?entity=host:WS-5")).body), [5], "type:value, names in any case");
    assert.deepEqual(ids((await get("/v1/incidents?entity=user2")).body), [8, 5, 2], "a bare value");
    const since = new Date(T0 + 7 * 60_000).toISOString();
    assert.deepEqual(ids((await get(`/v1/incidents?since=${since}`)).body), [10, 9, 8, 7]);
    assert.deepEqual(ids((await get(`/v1/incidents?since=${since}&status=open&min_score=80`)).body), [9, 8]);
  });

  test("paging with limit and cursor visits every incident once", async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await get(`/v1/incidents?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(res.status, 200);
      seen.push(...ids(res.body));
      cursor = res.body["next_cursor"] as string | undefined;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(seen, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.equal(pages, 4);
    const filtered = await get("/v1/incidents?status=open&limit=2");
    assert.deepEqual(ids(filtered.body), [9, 8]);
    const next = await get(`/v1/incidents?status=open&limit=2&cursor=${String(filtered.body["next_cursor"])}`);
    assert.deepEqual(ids(next.body), [7, 6]);
  });

  test("bad queries are 400 in the catalogue's shape", async () => {
    for (const q of [
      "limit=201",
      "limit=0",
      "min_score=abc",
      "status=done",
      "since=yesterday",
      "cursor=not-a-cursor",
      `cursor=${Buffer.from('["x","y"]').toString("base64url")}`,
      "colour=red",
      "limit=",
      "since=",
      "entity=",
      "min_score=-1",
      "limit=2.5",
      "status=open&status=resolved",
    ]) {
      const res = await get(`/v1/incidents?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal((res.body["error"] as { code: string }).code, "RIPOSTE_QUERY_INVALID", q);
    }
  });

  test("GET /v1/incidents/{id}: the incident, or 404 in the catalogue's shape", async () => {
    const found = await get(`/v1/incidents/${hex(4)}`);
    assert.equal(found.status, 200);
    assert.equal(found.body["id"], hex(4));
    const missing = await get(`/v1/incidents/${hex(99)}`);
    assert.equal(missing.status, 404);
    assert.equal((missing.body["error"] as { code: string }).code, "RIPOSTE_NOT_FOUND");
    assert.equal((await get(`/v1/incidents/${hex(99)}/timeline`)).status, 404);
  });

  test("PATCH sets status and assignee and adds a note, recording who (the token's name) and when, and publishes the incident", async () => {
    const res = await patch(hex(4), { status: "acknowledged", assignee: "alice", note: "looking" }, ALICE);
    assert.equal(res.statusCode, 200, res.body);
    const inc = res.json<Incident>();
    assert.equal(inc.status, "acknowledged");
    assert.equal(inc.assignee, "alice");
    assert.equal(inc.version, 2);
    assert.deepEqual(inc.notes, [{ time: 777, by: "alice", text: "looking" }]);
    assert.deepEqual(inc.history, [
      { time: 777, by: "alice", field: "status", from: "open", to: "acknowledged" },
      { time: 777, by: "alice", field: "assignee", from: null, to: "alice" },
    ]);
    assert.deepEqual(published, [inc]);
    assert.equal((await get(`/v1/incidents/${hex(4)}`)).body["version"], 2, "kept in state");
    const unassigned = (await patch(hex(4), { assignee: null })).json<Incident>();
    assert.equal(unassigned.assignee, null);
    assert.equal(unassigned.history.at(-1)?.by, "admin", "RIPOSTE_API_TOKEN is the token named admin");
    const forged = await patch(hex(4), { note: "x", by: "mallory" }, ALICE);
    assert.equal(forged.statusCode, 400, "who is the token's name, never the body's");
  });

  test("PATCH refuses bad bodies (400), unknown incidents (404) and merged ones (409)", async () => {
    for (const body of [
      "not json",
      "null",
      "[]",
      '"resolved"',
      {},
      { status: "closed" },
      { status: "merged" },
      { note: "" },
      { assignee: 5 },
      { status: "resolved", extra: true },
      { note: "x".repeat(2001) },
    ]) {
      const res = await patch(hex(4), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json<{ error: { code: string } }>().error.code, "RIPOSTE_BODY_INVALID");
    }
    assert.equal((await patch(hex(99), { status: "resolved" })).statusCode, 404);
    const merged = await patch(hex(10), { status: "resolved" });
    assert.equal(merged.statusCode, 409);
    assert.equal(merged.json<{ error: { code: string } }>().error.code, "RIPOSTE_INCIDENT_MERGED");
    assert.equal(published.length, 0);
  });

  test("the timeline puts alerts, decisions, actions, status changes and notes in time order", async () => {
    const id = hex(11);
    await seed([
      incident(11, {
        alert_ids: ["alert-11", "alert-12"],
        alert_count: 3,
        decisions: [{ id: "d1", rule: "edr-malware", playbook: "isolate-host", alert_uid: "alert-11", time: 2_000 }],
        decision_count: 1,
      }),
    ]);
    await trail.append([
      {
        alertId: "alert-11",
        entry: {
          stage: "received",
          time: 1_000,
          source: "edr",
          format: "crowdstrike_falcon",
          class_uid: 2004,
          class_name: "Detection Finding",
          title: "Malware",
          entity_key: "host:ws-11",
          fingerprint: "f",
          severity_id: 5,
        },
      },
      {
        alertId: "alert-11",
        entry: {
          stage: "action",
          time: 3_000,
          action_id: "a1",
          decision_id: "d1",
          playbook: "isolate-host",
          step: "contain",
          connector: "crowdstrike",
          action: "contain_host",
          status: "succeeded",
          attempts: 1,
          latency_ms: 40,
        },
      },
    ]);
    await patch(id, { status: "contained", note: "isolated" }, BOB);
    const res = await get(`/v1/incidents/${id}/timeline`);
    assert.equal(res.status, 200);
    const entries = res.body["entries"] as Array<{ time: number; kind: string }>;
    assert.deepEqual(
      entries.map((e) => [e.kind, e.time]),
      [
        ["alert", 1_000],
        ["decision", 2_000],
        ["action", 3_000],
        ["status", 777],
        ["note", 777],
      ].sort((a, b) => Number(a[1]) - Number(b[1])),
    );
    assert.equal(res.body["alerts_untracked"], 2, "one alert beyond the list, one without a trail");
  });
});
