/**
 * Incident grouping through the correlator on both state stores: correlators racing on one incident (the
 * compare-and-set retries) lose no alert, a linking alert merges across stores' reads, and `handle` publishes each
 * changed incident keyed by its id.
 */
import { describe, test, after } from "node:test";
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { Incident, type NormalizedEvent } from "../schemas/index.ts";
import { MemoryBus, type InMessage } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { MemoryState, RedisState, incidentKeys, type StateStore } from "../services/shared/state/index.ts";
import { normalizeEvent } from "../services/ingest/normalizers/index.ts";
import { Correlator } from "../services/correlator/index.ts";
import { RuleSet } from "../services/correlator/ruleset.ts";
import { requireRedis, uniquePrefix } from "./support/env.ts";
import { buildApi } from "../services/api/app.ts";
import { StateIncidents } from "../services/api/incidents.ts";

function suricata(flow: number, src = "10.7.7.7", minute = 0): NormalizedEvent {
  const raw = {
    timestamp: new Date(Date.UTC(2026, 10, 20, 9, minute, 0)).toISOString(),
    flow_id: flow,
    event_type: "alert",
    src_ip: src,
    dest_ip: "198.51.100.1",
    proto: "TCP",
    alert: { signature_id: flow, rev: 1, signature: `Sig ${flow}`, category: "Trojan", severity: 2 },
  };
  const out = normalizeEvent({ kind: "json", value: raw }, JSON.stringify(raw), { source: "ids", receivedTime: 1 });
  assert.ok(out.ok);
  return out.event;
}

const stores: Array<[string, () => Promise<StateStore>]> = [
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

for (const [name, make] of stores) {
  describe(`incidents through the correlator: ${name}`, () => {
    const opened: StateStore[] = [];
    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });
    const correlator = (state: StateStore, prefix: string, bus = new MemoryBus(), metrics = new Metrics()) =>
      new Correlator({
        bus,
        state,
        topics: topicNames(prefix),
        rules: new RuleSet([], new Map()),
        log: silentLogger,
        metrics,
        statePrefix: prefix,
        dedupWindowMs: 60_000,
        incidents: { windowMs: 86_400_000, retentionMs: 3_600_000 },
      });
    const read = async (state: StateStore, prefix: string, id: string) => {
      const [doc] = await state.incidentRead(incidentKeys(prefix), [id]);
      assert.ok(doc, `incident ${id} is in state`);
      return Incident.parse(JSON.parse(doc));
    };

    test("two correlators deciding alerts of one entity at once lose none (compare-and-set retries)", async () => {
      const prefix = uniquePrefix(`inc-race-${name}`);
      const state = await make();
      // Two Redis connections, as two processes have; the in-memory store is one process's, shared.
      const other = name === "redis" ? await make() : state;
      opened.push(...new Set([state, other]));
      const metrics = new Metrics();
      const [a, b] = [correlator(state, prefix, undefined, metrics), correlator(other, prefix, undefined, metrics)];
      const first = await a.outcome(suricata(1), "n/0/1");
      const id = first.incidents[0]?.id as string;
      assert.ok(id);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).outcome(suricata(i + 2), `n/${i % 2}/${i + 2}`)),
      );
      const inc = await read(state, prefix, id);
      assert.equal(inc.alert_count, 21);
      assert.equal(new Set(inc.alert_ids).size, 21);
      assert.equal(inc.version, 21, "one version per alert");
      assert.deepEqual(inc.entities, ["ip:10.7.7.7"]);
      assert.ok((metrics.snapshot()["correlator_incident_conflicts_total"] ?? 0) > 0, "the writers did conflict");
    });

    test("Defender alerts: the device alert names host and user, the identity alert the user: one incident", async () => {
      const prefix = uniquePrefix(`inc-defender-${name}`);
      const state = await make();
      opened.push(state);
      const c = correlator(state, prefix);
      const lines = readFileSync(new URL("../services/demo/alerts/defender.ndjson", import.meta.url), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "");
      const changed: Incident[] = [];
      for (const [i, line] of lines.entries()) {
        const out = normalizeEvent({ kind: "json", value: JSON.parse(line) as Record<string, unknown> }, line, {
          source: "defender",
          receivedTime: 1,
        });
        assert.ok(out.ok);
        changed.push(...(await c.outcome(out.event, `d/0/${i}`)).incidents);
      }
      const ids = new Set(changed.map((i) => i.id));
      assert.equal(ids.size, 1, "one incident");
      const inc = await read(state, prefix, [...ids][0] as string);
      assert.equal(inc.alert_count, lines.length);
      assert.deepEqual([...inc.entities].sort(), ["host:fin-ws-042", "user:j.doe@example.com"]);
    });

    test("the API reads what a correlator saved through its own connection, pages it and changes it", async () => {
      const prefix = uniquePrefix(`inc-api-${name}`);
      const state = await make();
      const apiState = name === "redis" ? await make() : state;
      opened.push(...new Set([state, apiState]));
      const c = correlator(state, prefix);
      for (let i = 0; i < 5; i++) await c.outcome(suricata(200 + i, `10.9.0.${i}`, i), `a/0/${i}`);
      const token = "incidents-e2e-token-0123456789";
      const api = buildApi({
        log: silentLogger,
        metrics: new Metrics(),
        apiToken: token,
        sourceTokens: {},
        maxBodyBytes: 4096,
        hmacSecrets: {},
        replayWindowMs: 300_000,
        incidents: new StateIncidents({ state: apiState, prefix, retentionMs: 120_000 }),
      });
      try {
        const auth = { authorization: `Bearer ${token}` };
        const page = async (q: string) =>
          (await api.inject({ method: "GET", url: `/v1/incidents?${q}`, headers: auth })).json<{
            incidents: Incident[];
            next_cursor?: string;
          }>();
        const first = await page("limit=3");
        assert.deepEqual(
          first.incidents.map((i) => i.entities[0]),
          ["ip:10.9.0.4", "ip:10.9.0.3", "ip:10.9.0.2"],
        );
        const rest = await page(`limit=3&cursor=${first.next_cursor ?? ""}`);
        assert.deepEqual(
          rest.incidents.map((i) => i.entities[0]),
          ["ip:10.9.0.1", "ip:10.9.0.0"],
        );
        assert.equal(rest.next_cursor, undefined);
        const id = first.incidents[0]?.id as string;
        const res = await api.inject({
          method: "PATCH",
          url: `/v1/incidents/${id}`,
          headers: { ...auth, "content-type": "application/json" },
          payload: JSON.stringify({ status: "contained" }),
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((await read(state, prefix, id)).status, "contained", "the correlator's store sees the change");
        // The correlator's next alert for that entity joins the incident on top of the analyst's version.
        const next = await c.outcome(suricata(300, "10.9.0.4", 30), "a/0/30");
        assert.equal(next.incidents[0]?.id, id);
        assert.equal(next.incidents[0]?.version, 3);
        assert.equal(next.incidents[0]?.status, "contained");
      } finally {
        await api.close();
      }
    });

    test("a batch's incident changes go out in one save, one version step per incident; racing batches lose none", async () => {
      const prefix = uniquePrefix(`inc-batch-${name}`);
      const state = await make();
      const other = name === "redis" ? await make() : state;
      opened.push(...new Set([state, other]));
      const topics = topicNames(prefix);
      const bus = new MemoryBus();
      await bus.ensureTopics([topics.decisions, topics.dlq, topics.incidents].map((n) => ({ name: n, partitions: 1 })));
      const got: InMessage[] = [];
      const sub = await bus.subscribe({
        groupId: "obs",
        topics: [topics.incidents],
        handler: async (batch) => void got.push(...batch),
      });
      let saves = 0;
      const save = state.incidentSave.bind(state);
      state.incidentSave = (...args) => {
        saves++;
        return save(...args);
      };
      const message = (e: NormalizedEvent, offset: number): InMessage => ({
        topic: topics.normalized,
        partition: offset % 2,
        offset: String(offset),
        key: e.riposte.entity_key,
        value: Buffer.from(JSON.stringify(e)),
        headers: {},
        timestamp: Date.now(),
      });
      // 30 alerts of three hosts in one batch, interleaved.
      const batch = Array.from({ length: 30 }, (_, i) => message(suricata(500 + i, `10.6.0.${i % 3}`, i % 50), i));
      const metrics = new Metrics();
      await correlator(state, prefix, bus, metrics).handle(batch);
      assert.equal(saves, 1, "one save for the batch");
      await new Promise((r) => setTimeout(r, 50));
      const published = got.map((m) => Incident.parse(JSON.parse(m.value.toString("utf8"))));
      assert.equal(published.length, 3, "each incident published once");
      for (const inc of published) {
        assert.equal(inc.version, 1);
        assert.equal(inc.alert_count, 10);
        assert.deepEqual(await read(state, prefix, inc.id), inc, "published as saved");
      }
      assert.equal(metrics.snapshot()["correlator_incidents_opened_total"], 3);
      // Two correlators, each with batches of the same three hosts at once: every alert ends in its host's incident.
      const [a, b] = [correlator(state, prefix, bus), correlator(other, prefix, bus)];
      await Promise.all(
        Array.from({ length: 6 }, (_, k) =>
          (k % 2 ? a : b).handle(
            Array.from({ length: 9 }, (_, i) => message(suricata(600 + k * 10 + i, `10.6.0.${i % 3}`, 50 + k), i)),
          ),
        ),
      );
      await sub.stop();
      await bus.close();
      for (const inc0 of published) {
        const inc = await read(state, prefix, inc0.id);
        assert.equal(inc.alert_count, 10 + 18, `${inc.entities[0] ?? ""}: 10 of the first batch, 3 of each racing one`);
        assert.equal(new Set(inc.alert_ids).size, 28);
      }
    });

    test("handle publishes each changed incident in full, keyed by its id; a redelivery publishes it again unchanged", async () => {
      const prefix = uniquePrefix(`inc-pub-${name}`);
      const state = await make();
      opened.push(state);
      const bus = new MemoryBus();
      const topics = topicNames(prefix);
      await bus.ensureTopics([topics.decisions, topics.dlq, topics.incidents].map((n) => ({ name: n, partitions: 1 })));
      const got: InMessage[] = [];
      const sub = await bus.subscribe({
        groupId: "obs",
        topics: [topics.incidents],
        handler: async (batch) => void got.push(...batch),
      });
      const c = correlator(state, prefix, bus);
      const message = (e: NormalizedEvent, offset: string): InMessage => ({
        topic: topics.normalized,
        partition: 0,
        offset,
        key: e.riposte.entity_key,
        value: Buffer.from(JSON.stringify(e)),
        headers: {},
        timestamp: Date.now(),
      });
      const e = suricata(100, "10.8.8.8");
      await c.handle([message(e, "1")]);
      await c.handle([message(e, "1")]);
      await c.handle([message(suricata(101, "10.8.8.8", 5), "2")]);
      await new Promise((r) => setTimeout(r, 50));
      await sub.stop();
      await bus.close();
      const values = got.map((m) => Incident.parse(JSON.parse(m.value.toString("utf8"))));
      assert.deepEqual(
        values.map((v) => v.version),
        [1, 1, 2],
        "the redelivery (same offset) published the same version again, saved nothing",
      );
      for (const [i, m] of got.entries()) assert.equal(m.key, values[i]?.id);
      assert.deepEqual(values[1], values[0]);
      assert.deepEqual((await read(state, prefix, values[0]?.id as string)).alert_ids, values[2]?.alert_ids);
    });
  });
}
