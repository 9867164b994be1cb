import { test } from "node:test";
import assert from "node:assert/strict";
import { suricata } from "./suricata.ts";
import { corpusEvents, json, normalizeWith } from "./testing.ts";
import { normalizeEvent } from "./index.ts";

const FILE = "suricata/elastic-integrations__suricata_eve__test-eve-small.log";

test("suricata: the corpus alert becomes a Detection Finding with its endpoints, severity, time and title", () => {
  const alerts = corpusEvents(FILE).filter((e) => e["event_type"] === "alert");
  assert.ok(alerts.length >= 1);
  const e = normalizeWith(suricata, json(alerts[0] as Record<string, unknown>));
  assert.equal(e.class_uid, 2004);
  assert.equal(e.type_uid, 200401);
  assert.ok(e.class_uid === 2004 && e.finding_info.title === "ET POLICY Observed IP Lookup Domain (l2 .io in TLS SNI)");
  assert.equal(e.severity_id, 4);
  assert.equal(e.severity, "High");
  assert.equal(e.time, Date.parse("2018-07-05T19:07:20.910Z"));
  assert.deepEqual(e.src_endpoint, { ip: "192.168.86.85", port: 55641 });
  assert.equal(e.dst_endpoint?.ip, "192.168.156.70");
  assert.equal(e.dst_endpoint?.hostname, "l2.io");
  assert.equal(e.riposte.entity_key, "ip:192.168.86.85");
  assert.equal(e.metadata.product.name, "Suricata");
  assert.ok(e.observables?.some((o) => o.type_id === 2 && o.value === "192.168.86.85"));
});

test("suricata: every corpus event is detected; telemetry event types are refused with a reason", () => {
  for (const ev of corpusEvents(FILE)) {
    const out = normalizeEvent(json(ev), JSON.stringify(ev), { source: "any", receivedTime: 1 });
    if (ev["event_type"] === "alert") assert.ok(out.ok, JSON.stringify(out));
    else {
      assert.equal(out.ok, false);
      assert.ok(
        !out.ok && out.code === "RIPOSTE_EVENT_UNSUPPORTED" && out.format === "suricata_eve",
        JSON.stringify(out),
      );
    }
  }
});

test("suricata: an alert without a signature is a schema error, not a crash", () => {
  const out = normalizeEvent(
    json({ timestamp: "2020-01-01T00:00:00Z", event_type: "alert", flow_id: 1, alert: {} }),
    "{}",
    { source: "suricata", receivedTime: 1 },
  );
  assert.equal(out.ok, false);
  assert.ok(!out.ok && out.code === "RIPOSTE_SCHEMA_INVALID" && /signature/.test(out.reason));
});
