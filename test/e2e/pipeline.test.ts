/**
 * The thin path end to end: a Suricata alert from the corpus, posted to the API, leads to exactly one isolate
 * request at a CrowdStrike fake and one audit record; re-posting it changes nothing; a malformed body gets a 4xx
 * and a DLQ record; the trace id of the ingest request reaches the vendor call. Runs embedded and distributed.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { corpusEvents } from "../../services/ingest/normalizers/testing.ts";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { eventually, requireKafka } from "../support/env.ts";
import { TOKEN, startHarness, type Harness } from "../support/harness.ts";

const ALERT = corpusEvents("suricata/elastic-integrations__suricata_eve__test-eve-small.log").find(
  (e) => e["event_type"] === "alert",
) as Record<string, unknown>;
/** kafkajs's ConfigResourceTypes.TOPIC (a named export its CommonJS build does not offer to ESM). */
const TOPIC_RESOURCE = 2;
const DEVICE_ID = "5f2e8a1c9b3d4e7fa0b1c2d3e4f5a6b7";

for (const mode of ["embedded", "distributed"] as const) {
  describe(`pipeline end to end (${mode})`, () => {
    let edr: FalconFake;
    let h: Harness;

    before(async () => {
      edr = await startFalconFake({ "192.168.86.85": DEVICE_ID });
      h = await startHarness(mode, edr.url);
    });
    after(async () => {
      await h?.stop();
      await edr?.close();
    });

    test("one alert → one decision → one isolate call → one audit record, in one trace", async () => {
      const res = await h.post("suricata", JSON.stringify(ALERT));
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body["normalized"], 1);
      const traceId = res.body["trace_id"] as string;
      assert.match(traceId, /^[0-9a-f]{32}$/);

      // isolate-host: the Falcon lookup, the containment, the ticket and the Slack message (both dry runs here).
      await eventually(() => h.actions.some((a) => a["step"] === "notify"), "the run's last audit record", 60_000);
      assert.deepEqual(
        h.actions.map((a) => `${String(a["step"])} ${String(a["status"])}`),
        ["lookup-falcon succeeded", "contain-falcon succeeded", "ticket dry_run", "notify dry_run"],
      );
      const contains = edr.actions();
      assert.equal(contains.length, 1);
      assert.equal(contains[0]?.query.get("action_name"), "contain");
      assert.deepEqual(JSON.parse(contains[0]?.body ?? "{}"), { ids: [DEVICE_ID] });
      assert.ok(edr.contained.has(DEVICE_ID));

      const audit = h.actions.find((a) => a["step"] === "contain-falcon") as Record<string, unknown>;
      assert.equal(audit["status"], "succeeded");
      assert.equal(audit["connector"], "crowdstrike");
      assert.equal(audit["action"], "contain_host");
      assert.equal(audit["classification"], "containment");
      assert.deepEqual(audit["target"], { type: "host", value: "192.168.86.85" });
      assert.equal(audit["trace_id"], traceId, "the audit record continues the ingest trace");
      assert.match(
        String(contains[0]?.headers["traceparent"]),
        new RegExp(`^00-${traceId}-`),
        "the vendor call carries the same trace",
      );

      const respond = h.decisions.filter((d) => d["outcome"] === "respond");
      assert.equal(respond.length, 1);
      assert.equal((respond[0]?.["rule"] as Record<string, unknown>)["id"], "network-ids-internal-host-isolate");
      assert.match(String((respond[0]?.["rule"] as Record<string, unknown>)["hash"]), /^[0-9a-f]{64}$/);
    });

    test("posting the same alert twice more yields duplicates and no second isolate request", async () => {
      for (let i = 0; i < 2; i++) assert.equal((await h.post("suricata", JSON.stringify(ALERT))).status, 202);
      await eventually(
        () => h.decisions.filter((d) => d["outcome"] === "duplicate").length >= 2,
        "two duplicate decisions",
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(edr.actions().length, 1, "still one isolate request");
      assert.equal(h.actions.length, 4, "still the run's four audit records");
    });

    test("the alert's incident is on <prefix>.incidents (compacted), keyed by its id; the duplicates change nothing", async () => {
      const respond = h.decisions.find((d) => d["outcome"] === "respond") as Record<string, unknown>;
      const alertUid = String((respond["alert"] as Record<string, unknown>)["uid"]);
      const ofAlert = () => h.incidents.filter((r) => (r.value["alert_ids"] as string[]).includes(alertUid));
      await eventually(() => ofAlert().length >= 1, "the alert's incident record", 60_000);
      const rec = ofAlert()[0] as (typeof h.incidents)[number];
      const id = String(rec.value["id"]);
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.equal(rec.key, id, "keyed by the incident id");
      assert.equal(rec.value["status"], "open");
      assert.equal(rec.value["version"], 1);
      assert.ok((rec.value["entities"] as string[]).includes("ip:192.168.86.85"), JSON.stringify(rec.value));
      assert.deepEqual(
        (rec.value["decisions"] as Array<Record<string, unknown>>).map((d) => [d["id"], d["rule"], d["playbook"]]),
        [[respond["id"], "network-ids-internal-host-isolate", respond["playbook"]]],
      );
      assert.deepEqual(
        [...new Set(h.incidents.filter((r) => r.key === id).map((r) => r.value["version"]))],
        [1],
        "the two duplicates published no new version",
      );
      if (mode === "distributed") {
        const kafka = new Kafka({
          clientId: `${h.prefix}-describe`,
          brokers: await requireKafka(),
          logLevel: logLevel.NOTHING,
        });
        const admin = kafka.admin();
        await admin.connect();
        try {
          const described = await admin.describeConfigs({
            resources: [{ type: TOPIC_RESOURCE, name: `${h.prefix}.incidents`, configNames: ["cleanup.policy"] }],
            includeSynonyms: false,
          });
          const policy = described.resources[0]?.configEntries.find((c) => c.configName === "cleanup.policy");
          assert.equal(policy?.configValue, "compact");
        } finally {
          await admin.disconnect();
        }
      } else {
        const res = await fetch(`${h.url}/v1/incidents/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as Record<string, unknown>)["id"], id, "the API reads it from state");
        const listed = await fetch(`${h.url}/v1/incidents?entity=ip:192.168.86.85`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const page = (await listed.json()) as { incidents: Array<{ id: string }> };
        assert.deepEqual(
          page.incidents.map((i) => i.id),
          [id],
        );
      }
    });

    // The trail is indexed by the api service, which the embedded mode runs; the distributed harness runs ingest,
    // correlator and executor (services/api/trail.test.ts covers the Redis trail store).
    if (mode === "embedded")
      test("GET /v1/alerts/{id}/trail tells the alert's story: received, rule matched, isolation, one trace", async () => {
        const respond = h.decisions.find((d) => d["outcome"] === "respond") as Record<string, unknown>;
        const alertId = String((respond["alert"] as Record<string, unknown>)["uid"]);
        const traceId = String(respond["trace_id"]);
        type Trail = {
          received: Array<{ format: string; class_uid: number }>;
          decisions: Array<{
            outcome: string;
            rule?: { id: string; version: number };
            actions: Array<{ status: string; connector: string; latency_ms: number; trace_id?: string }>;
          }>;
          trace_ids: string[];
        };
        let trail: Trail | undefined;
        await eventually(
          async () => {
            const res = await fetch(`${h.url}/v1/alerts/${encodeURIComponent(alertId)}/trail`, {
              headers: { authorization: `Bearer ${TOKEN}` },
            });
            if (res.status !== 200) return false;
            trail = (await res.json()) as Trail;
            return trail.decisions.some((d) => d.actions.length > 0) && trail.received.length >= 3;
          },
          "the trail with its action",
          30_000,
        );
        assert.ok(trail);
        assert.equal(trail.received[0]?.format, "suricata_eve");
        assert.equal(trail.received[0]?.class_uid, 2004);
        const matched = trail.decisions.find((d) => d.outcome === "respond");
        assert.equal(matched?.rule?.id, "network-ids-internal-host-isolate");
        assert.equal(matched?.actions[0]?.status, "succeeded");
        assert.equal(matched?.actions[0]?.connector, "crowdstrike");
        assert.ok((matched?.actions[0]?.latency_ms ?? -1) >= 0);
        assert.equal(trail.decisions.filter((d) => d.outcome === "duplicate").length, 2, "the two re-sends");
        assert.ok(trail.trace_ids.includes(traceId));
      });

    if (mode === "embedded")
      test("GET /v1/incidents/{id}/timeline: the alert received, the decision and the isolation, in time order", async () => {
        const respond = h.decisions.find((d) => d["outcome"] === "respond") as Record<string, unknown>;
        const alertUid = String((respond["alert"] as Record<string, unknown>)["uid"]);
        const rec = h.incidents.find((r) => (r.value["alert_ids"] as string[]).includes(alertUid));
        assert.ok(rec);
        type Timeline = { entries: Array<{ kind: string; time: number; status?: string; decision_id?: string }> };
        let timeline: Timeline | undefined;
        await eventually(
          async () => {
            const res = await fetch(`${h.url}/v1/incidents/${String(rec.key)}/timeline`, {
              headers: { authorization: `Bearer ${TOKEN}` },
            });
            if (res.status !== 200) return false;
            timeline = (await res.json()) as Timeline;
            return timeline.entries.some((e) => e.kind === "action");
          },
          "the timeline with the isolation",
          30_000,
        );
        const entries = timeline?.entries ?? [];
        const kinds = entries.map((e) => e.kind);
        assert.ok(kinds.includes("alert") && kinds.includes("decision"), kinds.join(","));
        assert.equal(entries.find((e) => e.kind === "action")?.status, "succeeded");
        assert.equal(entries.find((e) => e.kind === "decision")?.decision_id, respond["id"]);
        const times = entries.map((e) => e.time);
        assert.deepEqual(
          times,
          [...times].sort((a, b) => a - b),
          "in time order",
        );
      });

    test("GET /metrics after the run: MTTD and MTTR histograms with counts, actions by outcome, consumer lag", async () => {
      const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      const text = await res.text();
      const count = (name: string) =>
        [...text.matchAll(new RegExp(`^${name}_count\\{[^}]*\\} (\\d+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
      if (mode === "embedded") {
        // The embedded process runs every service; the distributed harness's ingest process only ingests.
        assert.ok(count("riposte_mttd_seconds") >= 1, "MTTD observed for the decision");
        assert.ok(count("riposte_mttr_seconds") >= 1, "MTTR observed for the containment");
        for (const stage of ["ingest", "correlate", "execute"])
          assert.match(text, new RegExp(`^riposte_stage_seconds_count\\{stage="${stage}"\\} [1-9]\\d*$`, "m"), stage);
        assert.match(
          text,
          /^riposte_actions_total\{connector="crowdstrike",action="contain_host",outcome="succeeded"\} 1$/m,
        );
        assert.match(
          text,
          /^riposte_consumer_lag_messages\{group="[^"]+\.correlator",topic="[^"]+",partition="\d+"\} \d+$/m,
        );
      }
      assert.match(text, /^riposte_alerts_in_total\{source="suricata",format="suricata_eve"\} \d+$/m);
    });

    test("a malformed body gets a 400 with the reason and a DLQ record with the original bytes; the services keep running", async () => {
      const bad = '{"timestamp": "2024-01-01T00:00:00Z", "event_type": "alert", oops';
      const res = await h.post("suricata", bad);
      assert.equal(res.status, 400);
      const err = res.body["error"] as Record<string, unknown>;
      assert.equal(err["code"], "RIPOSTE_BODY_INVALID");
      assert.match(String(err["message"]), /not valid JSON/);
      await eventually(() => h.dlq.length >= 1, "a DLQ record", 60_000);
      const rec = h.dlq[0] as Record<string, unknown>;
      assert.equal(rec["stage"], "ingest");
      assert.equal(rec["source"], "suricata");
      assert.equal(Buffer.from(String(rec["original"]), "base64").toString(), bad);

      const unknown = await h.post("suricata", JSON.stringify({ hello: "world" }), {});
      assert.equal(unknown.status, 422);
      const health = await fetch(`${h.url}/healthz`);
      assert.equal(health.status, 200);
      const again = await h.post("suricata", JSON.stringify({ ...ALERT, flow_id: 42 }));
      assert.equal(again.status, 202, "still serving after bad input");
    });

    test("ingest refuses requests without a valid token", async () => {
      const none = await fetch(`${h.url}/v1/alerts/suricata`, { method: "POST", body: "{}" });
      assert.equal(none.status, 401);
      const wrong = await fetch(`${h.url}/v1/alerts/suricata`, {
        method: "POST",
        body: "{}",
        headers: { authorization: "Bearer nope-nope-nope-nope" },
      });
      assert.equal(wrong.status, 401);
    });
  });
}
