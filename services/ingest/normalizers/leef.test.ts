import { test } from "node:test";
import assert from "node:assert/strict";
import { leef } from "./leef.ts";
import { parseLeef } from "./syslog-parse.ts";
import { corpusLines, json, normalizeWith, text } from "./testing.ts";
import { isRejection } from "./types.ts";

const TENZIR = corpusLines("cef_leef_syslog/tenzir__leef2.log");

test("leef parser: PAN-OS LEEF 2.0 templates without a delimiter field split on the literal \\t", () => {
  assert.equal(TENZIR.length, 3);
  const l = parseLeef(TENZIR[0]!);
  assert.equal(l.version, "2.0");
  assert.equal(l.vendor, "Palo Alto Networks");
  assert.equal(l.product, "PAN-OS Syslog Integration");
  assert.equal(l.deviceVersion, "4.0");
  assert.equal(l.eventId, "$result");
  assert.deepEqual(Object.keys(l.attrs), ["cat", "usrName", "src", "devTime", "client", "sequence", "serial", "msg"]);
  assert.equal(l.attrs["usrName"], "$admin");
  const last = parseLeef(TENZIR[2]!);
  assert.equal(last.attrs["DeviceSN"], "$serial");
  assert.equal(Object.keys(last.attrs).length, 21);
});

test("leef parser: LEEF 2.0 delimiters as a character, as x09 hex, and LEEF 1.0 tabs", () => {
  assert.deepEqual(parseLeef("LEEF:2.0|V|P|1|E|^|a=1^b=x y").attrs, { a: "1", b: "x y" });
  const hex = parseLeef("LEEF:2.0|V|P|1|E|x09|a=1\tb=2|3");
  assert.equal(hex.delimiter, "\t");
  assert.deepEqual(hex.attrs, { a: "1", b: "2|3" });
  assert.deepEqual(parseLeef("LEEF:2.0|V|P|1|E|0x7c|a=1|b=2").attrs, { a: "1", b: "2" });
  assert.deepEqual(parseLeef("LEEF:1.0|V|P|1|E|a=1\tb=2").attrs, { a: "1", b: "2" });
  assert.throws(() => parseLeef("LEEF:1.0|V|P"), /LEEF header has 3 of its 6/);
});

test("leef: the tenzir template lines are detected and refused: their devTime is a $placeholder", () => {
  for (const line of TENZIR) {
    assert.ok(leef.detect(text(line)));
    const out = leef.normalize(text(line));
    assert.ok(isRejection(out) && /without a usable time/.test(out.reason));
  }
});

test("leef: a PAN-OS THREAT line behind RFC 5424 syslog maps host, user, IPs, severity, time and title", () => {
  const line =
    "<14>1 2024-05-02T10:11:13.000Z pa-fw-01 PAN-OS - THREAT - LEEF:2.0|Palo Alto Networks|PAN-OS Syslog Integration|11.0|THREAT|^|cat=virus^src=10.1.2.3^dst=203.0.113.9^srcPort=51515^dstPort=80^usrName=EXAMPLE\\jdoe^sev=8^devTime=May 02 2024 10:11:10 UTC^msg=Eicar test file^url=http://203.0.113.9/eicar.com^serial=0123456789^sequence=42";
  const e = normalizeWith(leef, text(line));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "THREAT: virus");
  assert.equal(e.finding_info.uid, "0123456789:42");
  assert.equal(e.time, Date.UTC(2024, 4, 2, 10, 11, 10));
  assert.equal(e.severity_id, 4);
  assert.deepEqual(e.src_endpoint, { ip: "10.1.2.3", port: 51515 });
  assert.deepEqual(e.device, { ip: "10.1.2.3" }, "internal → external: the source is affected");
  assert.deepEqual(e.user, { name: "jdoe", domain: "EXAMPLE" });
  assert.equal(e.riposte.entity_key, "user:jdoe");
  assert.deepEqual(e.unmapped?.["reporting_device"], { hostname: "pa-fw-01", uid: "0123456789" });
  assert.equal(e.evidences?.[0]?.url?.url_string, "http://203.0.113.9/eicar.com");
});

test("leef: LEEF 1.0 with identHostName names the device; traffic is Low at most", () => {
  const e = normalizeWith(
    leef,
    text(
      "LEEF:1.0|Example|Mail Gateway|2.1|15345|src=192.0.2.7\tdst=10.0.0.5\tsev=3\tdevTime=1714644672000\tcat=Email Rejected\tidentHostName=mail01.example.com\tidentSrc=10.0.0.5",
    ),
  );
  assert.ok(e.class_uid === 2004);
  assert.deepEqual(e.device, { hostname: "mail01.example.com", ip: "10.0.0.5" });
  assert.equal(e.riposte.entity_key, "host:mail01.example.com");
  assert.equal(e.severity_id, 2);
  assert.equal(e.time, 1714644672000);
  const t = normalizeWith(
    leef,
    text("LEEF:2.0|V|FW|1|TRAFFIC|x09|src=10.0.0.1\tdst=198.51.100.2\tsev=9\tdevTime=2024-05-02T10:00:00Z"),
  );
  assert.ok(t.class_uid === 2004 && t.is_alert === false);
  assert.equal(t.severity_id, 2);
});

test("leef: detection is specific; malformed lines give clear errors", () => {
  assert.equal(leef.detect(text("CEF:0|V|P|1|1|N|5|src=10.0.0.1")), false);
  assert.equal(leef.detect(json({ message: TENZIR[0]! })), false);
  assert.throws(() => leef.normalize(text("LEEF:2.0|V|P")), /LEEF header has 3 of its 6/);
  assert.throws(() => leef.normalize(text("LEEF:1.0|V|P|1||src=10.0.0.1\tdevTime=1714644672000")), /no Event ID/);
});
