/**
 * The thin path end to end: a Suricata alert from the corpus, posted to the API, leads to exactly one isolate
 * request at a CrowdStrike fake and one audit record; re-posting it changes nothing; a malformed body gets a 4xx
 * and a DLQ record; the trace id of the ingest request reaches the vendor call. Runs embedded and distributed.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { corpusEvents } from "../../services/ingest/normalizers/testing.ts";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { eventually } from "../support/env.ts";
import { startHarness, type Harness } from "../support/harness.ts";

const ALERT = corpusEvents("suricata/elastic-integrations__suricata_eve__test-eve-small.log").find(
  (e) => e["event_type"] === "alert",
) as Record<string, unknown>;
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

      await eventually(() => h.actions.length >= 1, "an audit record", 60_000);
      const contains = edr.actions();
      assert.equal(contains.length, 1);
      assert.equal(contains[0]?.query.get("action_name"), "contain");
      assert.deepEqual(JSON.parse(contains[0]?.body ?? "{}"), { ids: [DEVICE_ID] });
      assert.ok(edr.contained.has(DEVICE_ID));

      const audit = h.actions[0] as Record<string, unknown>;
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
      assert.equal(h.actions.length, 1, "still one audit record");
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
