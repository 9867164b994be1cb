import { test } from "node:test";
import assert from "node:assert/strict";
import { zeekNotice } from "./zeek.ts";
import { corpusEvents, corpusText, json, normalizeWith, otherVendors } from "./testing.ts";
import { get } from "./util.ts";

const FILE = "zeek/elastic-integrations__zeek_notice__test-notice.log";
const EXPECTED = "zeek/elastic-integrations__zeek_notice__test-notice.log-expected.json";

const notices = () => corpusEvents(FILE);
const expected = () => (JSON.parse(corpusText(EXPECTED)) as { expected: Array<Record<string, unknown>> }).expected;

test("zeek: each of the 4 notices agrees with Elastic's ECS output (IPs, ports, time, title, description, conn uid)", () => {
  const raw = notices();
  const ecs = expected();
  assert.equal(raw.length, 4);
  assert.equal(ecs.length, 4);
  raw.forEach((ev, i) => {
    const want = ecs[i] as Record<string, unknown>;
    const e = normalizeWith(zeekNotice, json(ev));
    assert.equal(e.class_uid, 2004);
    assert.equal(get(want, "event.kind"), "alert");
    assert.equal(new Date(e.time).toISOString(), get(want, "@timestamp"), `time of notice ${i}`);
    assert.equal(e.src_endpoint?.ip, get(want, "source.ip"), `source.ip of notice ${i}`);
    assert.equal(e.src_endpoint?.port, get(want, "source.port"), `source.port of notice ${i}`);
    assert.equal(e.dst_endpoint?.ip, get(want, "destination.ip"), `destination.ip of notice ${i}`);
    assert.equal(e.dst_endpoint?.port, get(want, "destination.port"), `destination.port of notice ${i}`);
    assert.ok(e.class_uid === 2004);
    assert.equal(e.finding_info.title, get(want, "rule.name"), `title of notice ${i}`);
    assert.equal(e.finding_info.desc, get(want, "rule.description"), `description of notice ${i}`);
    assert.equal(e.metadata.correlation_uid, get(want, "event.id"), `conn uid of notice ${i}`);
    assert.equal(e.unmapped?.["proto"], get(want, "network.transport"));
    // Elastic sets no event.severity (Zeek has none); ours is inferred from the notice type.
    assert.equal(get(want, "event.severity"), undefined);
    const related = (get(want, "related.ip") as string[] | undefined) ?? [];
    for (const a of related)
      assert.ok(
        e.observables?.some((o) => o.type_id === 2 && o.value === a),
        `observable ${a}`,
      );
  });
});

test("zeek: named notices: severity, entity and fields", () => {
  const [guess, scan, loss, cert] = notices().map((ev) => normalizeWith(zeekNotice, json(ev)));
  assert.ok(guess && scan && loss && cert);
  assert.equal(guess.severity_id, 3);
  assert.equal(guess.riposte.entity_key, "ip:172.16.238.1");
  assert.equal(guess.time, Date.parse("2011-11-04T19:44:35.879Z"));
  assert.equal(guess.unmapped?.["sensor"], "bro");
  assert.equal(guess.device, undefined);

  assert.equal(scan.severity_id, 3);
  assert.deepEqual(scan.src_endpoint, { ip: "89.160.20.156" });
  assert.deepEqual(scan.dst_endpoint, { ip: "89.160.20.156" });

  assert.equal(loss.severity_id, 1);
  assert.equal(loss.severity, "Informational");
  assert.equal(loss.src_endpoint, undefined);
  assert.equal(loss.riposte.entity_key, "source:test");

  assert.equal(cert.severity_id, 2);
  assert.ok(cert.class_uid === 2004 && cert.finding_info.title === "SSL::Invalid_Server_Cert");
  assert.deepEqual(cert.src_endpoint, { ip: "10.156.0.2", port: 48818 });
  assert.deepEqual(cert.dst_endpoint, { ip: "89.160.20.156", port: 443 });
  assert.equal(cert.metadata.event_code, "SSL::Invalid_Server_Cert");
  assert.equal(cert.metadata.product.name, "Zeek");
  assert.equal(cert.unmapped?.["fuid"], "F39b0Bdfm3FW1rNS5");
  assert.equal(cert.riposte.entity_key, "ip:10.156.0.2");
});

test("zeek: fingerprints differ across the corpus notices", () => {
  const fps = notices().map((ev) => normalizeWith(zeekNotice, json(ev)).riposte.fingerprint);
  assert.equal(new Set(fps).size, fps.length);
});

test("zeek: detection claims the notices, nested id records and other Zeek logs (refused), not other vendors", () => {
  for (const ev of notices()) {
    assert.ok(zeekNotice.detect(json(ev)));
  }
  const nested = {
    ts: "2026-01-01T00:00:00.000000Z",
    uid: "Cabc",
    id: { orig_h: "10.0.0.1", orig_p: 5000, resp_h: "10.0.0.2", resp_p: 22 },
    note: "SSH::Login_By_Password_Guesser",
    msg: "m",
  };
  const n = normalizeWith(zeekNotice, json(nested));
  assert.deepEqual(n.src_endpoint, { ip: "10.0.0.1", port: 5000 });
  assert.equal(n.severity_id, 4);
  const conn = { _path: "conn", ts: 1617097929.6, uid: "C1", "id.orig_h": "10.0.0.1", proto: "tcp" };
  assert.ok(zeekNotice.detect(json(conn)));
  const r = zeekNotice.normalize(json(conn));
  assert.ok("rejected" in r && /conn\.log is telemetry/.test(r.reason));
  for (const other of otherVendors("zeek")) assert.equal(zeekNotice.detect(json(other)), false);
  assert.equal(zeekNotice.detect(json({ ts: 1, note: "free text", msg: "x" })), false);
});

test("zeek: a notice with an unparsable ts is a clear error", () => {
  assert.throws(
    () => zeekNotice.normalize(json({ ts: "yesterday", note: "Scan::Port_Scan", msg: "m" })),
    /ts "yesterday" is not a time/,
  );
  assert.throws(() => zeekNotice.normalize(json({ _path: "notice", ts: 1 })), /without `note`/);
});
