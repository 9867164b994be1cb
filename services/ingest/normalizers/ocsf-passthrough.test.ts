/** Events already in OCSF: accepted as they are when Riposte knows their class, validated, never trusted for Riposte's own fields. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeEvent, type NormalizeOutcome } from "./index.ts";
import { missingOcsf } from "./ocsf-passthrough.ts";
import { corpusEvents, json } from "./testing.ts";

const RECEIVED = 1_800_000_000_000;
const run = (value: Record<string, unknown>, format?: string): NormalizeOutcome =>
  normalizeEvent(json(value), JSON.stringify(value), { source: "lake", format, receivedTime: RECEIVED });

/**
 * A Detection Finding as an OCSF producer emits it, built field by field from the OCSF schema (ocsf/ocsf-schema
 * events/findings/detection_finding.json and events/base_event.json; objects finding_info, metadata, product, device)
 * with our own values.
 */
const finding = (over: Record<string, unknown> = {}) => ({
  activity_id: 1,
  activity_name: "Create",
  category_uid: 2,
  category_name: "Findings",
  class_uid: 2004,
  class_name: "Detection Finding",
  type_uid: 200401,
  severity_id: 4,
  severity: "High",
  time: 1_772_600_000_000,
  metadata: {
    version: "1.3.0",
    product: { vendor_name: "Example Corp", name: "Example XDR", version: "2.1" },
    uid: "finding-0001",
    labels: ["tenant:blue"],
  },
  finding_info: { uid: "finding-0001", title: "Credential dumping on a workstation", types: ["Credential Access"] },
  device: { hostname: "WS-0042", ip: "192.0.2.10" },
  is_alert: true,
  riposte: { source: "spoofed", format: "spoofed", received_time: 1, entity_key: "host:not-me", fingerprint: "x" },
  ...over,
});

test("an OCSF Detection Finding is taken as it is; Riposte's own block and captions are recomputed", () => {
  const out = run(finding());
  assert.ok(out.ok, JSON.stringify(out));
  const e = out.event;
  assert.equal(out.format, "ocsf");
  assert.equal(e.class_uid, 2004);
  assert.equal(e.time, 1_772_600_000_000);
  assert.deepEqual(e.riposte, {
    source: "lake",
    format: "ocsf",
    received_time: RECEIVED,
    entity_key: "host:ws-0042",
    fingerprint: e.riposte.fingerprint,
  });
  assert.notEqual(e.riposte.fingerprint, "x");
  assert.deepEqual(e.metadata.product, { vendor_name: "Example Corp", name: "Example XDR", version: "2.1" });
  assert.equal(e.metadata.uid, "finding-0001");
  assert.deepEqual(e.metadata.labels, ["tenant:blue", "ocsf_version:1.3.0"]);
  assert.equal(e.metadata.version, "1.5.0");
  if (e.class_uid === 2004) assert.equal(e.finding_info.title, "Credential dumping on a workstation");
});

test("a class Riposte does not take is unsupported, naming the class; a broken event names what is wrong", () => {
  const process = run(finding({ class_uid: 1007, category_uid: 1, type_uid: 100701 }));
  assert.ok(!process.ok && process.code === "RIPOSTE_EVENT_UNSUPPORTED", JSON.stringify(process));
  assert.match(process.reason, /class_uid 1007 is not a class Riposte takes/);
  const category = run(finding({ category_uid: 3 }));
  assert.ok(!category.ok && category.code === "RIPOSTE_SCHEMA_INVALID");
  assert.match(category.reason, /category_uid 3 is not the category of class_uid 2004/);
  const typeUid = run(finding({ type_uid: 200402 }));
  assert.ok(!typeUid.ok && /type_uid 200402/.test(typeUid.reason));
  const noTitle = run(finding({ finding_info: { uid: "finding-0001" } }));
  assert.ok(!noTitle.ok && noTitle.code === "RIPOSTE_SCHEMA_INVALID" && /finding_info\.title/.test(noTitle.reason));
  const forced = run({ class_uid: 2004, time: 1 }, "ocsf");
  assert.ok(!forced.ok && forced.code === "RIPOSTE_SCHEMA_INVALID", JSON.stringify(forced));
  assert.match(forced.reason, /category_uid, activity_id, severity_id, metadata missing/);
});

test("an OCSF event without a readable time takes the received time, marked", () => {
  const out = run(finding({ time: "not a time" }));
  assert.ok(out.ok, JSON.stringify(out));
  assert.equal(out.event.time, RECEIVED);
  assert.equal(out.event.riposte.time_fallback, true);
});

test("Panther's OCSF DNS samples normalize as DNS Activity; its partial network samples are not OCSF events", () => {
  const dns = corpusEvents("ocsf/panther-analysis__OCSF.DnsActivity.jsonl");
  assert.equal(dns.length, 2);
  for (const e of dns) {
    const out = run(e);
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.format, "ocsf");
    assert.equal(out.event.class_uid, 4003);
    assert.equal(out.event.riposte.entity_key, "ip:5.6.7.8");
    assert.equal(out.event.time, Date.parse("2022-06-25T00:27:53Z"));
    assert.equal(out.event.src_endpoint?.port, 8888, "a port sent as a numeric string");
    if (out.event.class_uid === 4003) assert.equal(out.event.query?.type, "AAAA");
  }
  const network = corpusEvents("ocsf/panther-analysis__OCSF.NetworkActivity.jsonl");
  assert.equal(network.length, 8);
  for (const e of network) {
    assert.ok(missingOcsf(e).includes("class_uid"));
    const out = run(e);
    assert.ok(!out.ok && out.code === "RIPOSTE_FORMAT_UNKNOWN", JSON.stringify(out));
    const forced = run(e, "ocsf");
    assert.ok(
      !forced.ok &&
        forced.code === "RIPOSTE_SCHEMA_INVALID" &&
        /^ocsf: not an OCSF event: class_uid/.test(forced.reason),
    );
  }
});
