/** The OpenAPI description covers every route the API registers, and is served. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBus } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { MemoryState } from "../services/shared/state/index.ts";
import { Ingestor } from "../services/ingest/ingestor.ts";
import { replayDlq } from "../services/ingest/replay.ts";
import { buildApi, registeredRoutes } from "../services/api/app.ts";
import { ROUTES, fastifyPath } from "../services/api/openapi.ts";
import { MemoryTrailStore } from "../services/api/trail.ts";
import { StateIncidents } from "../services/api/incidents.ts";
import { RunStore } from "../services/executor/runs.ts";
import { Leases } from "../services/executor/leases.ts";
import { Guards, defaultGuardSettings } from "../services/executor/guards.ts";
import { ApprovalStore } from "../services/executor/approvals.ts";

const TOKEN = "openapi-token-0123456789abcdef";

/** The API with every optional part switched on, so that every route is registered. */
function fullApi() {
  const bus = new MemoryBus();
  const topics = topicNames("openapi");
  const ingestor = new Ingestor({ bus, topics, metrics: new Metrics() });
  const app = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: TOKEN,
    sourceTokens: {},
    maxBodyBytes: 1024,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    ingestor,
    replay: (o) => replayDlq({ bus, topics, ingestor, state: new MemoryState(), groupId: "g", ...o }),
    trail: new MemoryTrailStore(60_000),
    incidents: new StateIncidents({ state: new MemoryState(), prefix: "openapi", retentionMs: 60_000 }),
    runs: new RunStore({ state: new MemoryState(), prefix: "openapi" }),
    rules: { status: async () => undefined, reload: async () => ({ requested_at: 1 }) },
    killSwitch: { get: async () => ({ on: false }), set: async (on) => ({ on }) },
    edl: { tokens: {}, text: async () => "" },
    approvals: { store: new ApprovalStore({ state: new MemoryState(), prefix: "openapi" }), publish: async () => {} },
    containment: {
      leases: new Leases({ state: new MemoryState(), prefix: "openapi" }),
      guards: () =>
        new Guards({ state: new MemoryState(), prefix: "openapi", settings: defaultGuardSettings() }).view(),
    },
  });
  return { app, bus };
}

test("every route the API registers is described in the OpenAPI document, and nothing else is", async () => {
  const { app, bus } = fullApi();
  await app.ready();
  const registered = new Set(registeredRoutes(app).map((r) => `${r.method} ${r.url}`));
  const documented = new Set(ROUTES.map((r) => `${r.method} ${fastifyPath(r.path)}`));
  assert.ok(registered.size >= 5, "routes were collected");
  for (const r of registered) assert.ok(documented.has(r), `${r} is registered but not described in openapi.ts`);
  for (const d of documented) assert.ok(registered.has(d), `${d} is described but the API does not serve it`);
  await app.close();
  await bus.close();
});

test("GET /openapi.json is an OpenAPI 3.1 document with bearer security; /docs renders it; both need the token", async () => {
  const { app, bus } = fullApi();
  const auth = { authorization: `Bearer ${TOKEN}` };
  const res = await app.inject({ method: "GET", url: "/openapi.json", headers: auth });
  assert.equal(res.statusCode, 200);
  const doc = res.json<{
    openapi: string;
    paths: Record<string, Record<string, { security: unknown[]; requestBody?: unknown; responses: object }>>;
  }>();
  assert.equal(doc.openapi, "3.1.0");
  assert.deepEqual(doc.paths["/healthz"]?.["get"]?.security, [], "health needs no token");
  assert.deepEqual(doc.paths["/v1/alerts/{source}"]?.["post"]?.security, [{ bearer: [] }]);
  const replayBody = JSON.stringify(doc.paths["/v1/dlq/replay"]?.["post"]?.requestBody);
  assert.match(replayBody, /from_beginning/, "the replay body schema comes from the zod schema the handler uses");
  const page = await app.inject({ method: "GET", url: "/docs", headers: auth });
  assert.equal(page.statusCode, 200);
  assert.match(page.headers["content-type"] ?? "", /text\/html/);
  assert.match(page.body, /POST \/v1\/alerts\/\{source\}/);
  assert.equal((await app.inject({ method: "GET", url: "/openapi.json" })).statusCode, 401);
  await app.close();
  await bus.close();
});
