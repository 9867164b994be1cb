import { test } from "node:test";
import assert from "node:assert/strict";
import { cef } from "./cef.ts";
import { parseCef, stripSyslog } from "./syslog-parse.ts";
import { corpusEvents, corpusLines, json, normalizeWith, text } from "./testing.ts";
import { normalizeEvent } from "./index.ts";
import { LINEAR, growth } from "../growth.testing.ts";

const DIR = "cef_leef_syslog/";
const BARE = corpusLines(`${DIR}elastic-integrations__cef_log__test-cef.log`);
const FALCON = corpusLines(`${DIR}azure-sentinel__CheckPoint_Firewall_NetworkSession_RawLogs.excerpt.txt`);
const PALO = corpusLines(`${DIR}azure-sentinel__PaloAlto_CortexDataLake_ASimNetworkSession_RawLogs.txt`);
/** Elastic's Check Point fixture: the raw CEF line (event.original) with Elastic's decoded extensions beside it. */
const CHECKPOINT = (
  corpusEvents(`${DIR}elastic-integrations__cef_log__test-checkpoint.json`)[0]!["events"] as Array<{
    event: { original: string };
    cef: { extensions: Record<string, unknown> };
  }>
).map((d) => ({ line: d.event.original, decoded: d.cef.extensions }));

test("cef parser: header escapes, extension escapes, values with spaces, empty values, trailing whitespace", () => {
  const c = parseCef("CEF:0|Ven\\|dor|Prod|1.0|100|Name with \\\\ slash|7|msg=a\\=b c\\\\d  x= y=last value   ");
  assert.equal(c.vendor, "Ven|dor");
  assert.equal(c.name, "Name with \\ slash");
  assert.equal(c.severity, "7");
  assert.deepEqual({ ...c.ext }, { msg: "a=b c\\d", x: "", y: "last value" });
  assert.deepEqual(
    { ...parseCef("CEF:0|V|P|1|1|N|5|request=https://x.example/?a=b&c=d act=x").ext },
    {
      request: "https://x.example/?a=b&c=d",
      act: "x",
    },
  );
  const padded = parseCef(BARE[3]!);
  assert.deepEqual(
    { ...padded.ext },
    {
      message: "This event is padded with whitespace",
      dst: "192.168.1.2",
      src: "192.168.3.4",
    },
  );
  assert.throws(() => parseCef("CEF:0|Vendor|Product"), /CEF header has 3 of its 8/);
});

test("cef parser: Check Point lines decode as Elastic's decode_cef does (escaped =, values with spaces and &)", () => {
  const c = parseCef(CHECKPOINT[0]!.line);
  assert.equal(c.product, "VPN-1 & FireWall-1");
  assert.equal(c.ext["originsicname"], CHECKPOINT[0]!.decoded["originsicname"]);
  assert.equal(c.ext["product"], "VPN-1 & FireWall-1");
  assert.equal(c.ext["cs5"], CHECKPOINT[0]!.decoded["deviceCustomString5"]);
  assert.equal(c.ext["loguid"], CHECKPOINT[0]!.decoded["loguid"]);
});

test("cef: syslog headers are stripped; relays and collectors are not the reporting device", () => {
  const pa = stripSyslog(PALO[0]!, "CEF")!;
  assert.ok(pa.body.startsWith("CEF:0|Palo Alto Networks|LF|2.0|TRAFFIC|end|3|"));
  assert.equal(pa.header.host, "stream-logfwd20-587718190-03011242-xynu-harness-zpqg");
  assert.equal(pa.header.time, Date.parse("2021-03-01T20:46:50.869Z"));
  const line =
    "<134>May  2 10:11:12 fw-dc-01 CEF:0|Check Point|VPN-1 & FireWall-1|R81|Log|Drop|5|act=Drop src=192.0.2.10 dst=10.1.1.5 rt=1714644672000";
  const e = normalizeWith(cef, text(line));
  assert.deepEqual(e.unmapped?.["reporting_device"], { hostname: "fw-dc-01" });
});

test("cef: CrowdStrike Falcon firewall events (Check Point|FalconHost) name the endpoint as the device", () => {
  assert.equal(FALCON.length, 3);
  const expected = [
    { host: "ABC123-1230", ip: "170.10.20.250", remote: "170.15.10.240", port: 138, time: 1694428385000 },
    { host: "A12-User1.local", ip: "190.160.2.250", remote: "190.160.1.10", port: 137, time: 1694428388000 },
    { host: "CDE123-41.local", ip: "170.20.10.240", remote: "170.20.10.250", port: 137, time: 1694428400000 },
  ];
  FALCON.forEach((line, i) => {
    const want = expected[i]!;
    const e = normalizeWith(cef, text(line));
    assert.ok(e.class_uid === 2004);
    assert.equal(e.device?.hostname, want.host);
    assert.equal(e.device?.ip, want.ip);
    assert.deepEqual(e.src_endpoint, { ip: want.remote, port: want.port });
    assert.equal(e.dst_endpoint?.ip, want.ip);
    assert.equal(e.time, want.time);
    assert.equal(e.severity_id, 2);
    assert.equal(e.finding_info.title, "Firewall Match event");
    assert.equal(e.finding_info.analytic?.name, "NetBIOS/IP TCP 137-139");
    assert.equal(e.is_alert, false);
    assert.equal(e.riposte.entity_key, `host:${want.host.toLowerCase()}`);
  });
});

test("cef: Palo Alto Cortex Data Lake TRAFFIC logs are Low findings about the inbound destination", () => {
  assert.equal(PALO.length, 2);
  const [v4, v6] = PALO.map((l) => normalizeWith(cef, text(l)));
  for (const e of [v4!, v6!]) {
    assert.ok(e.class_uid === 2004);
    assert.equal(e.finding_info.title, "TRAFFIC: end");
    assert.equal(e.finding_info.analytic?.name, "deny-attackers");
    assert.equal(e.time, Date.UTC(2021, 1, 27, 20, 16, 21));
    assert.equal(e.metadata.original_time, "Feb 27 2021 20:16:21");
    assert.equal(e.severity_id, 2);
    assert.equal(e.is_alert, false);
    assert.deepEqual(e.user, {
      name: "TestUser",
      domain: "paloaltonetwork",
      uid: "da34255e-6a0e-44ee-9028-dfee04f327ee",
    });
    assert.equal(e.riposte.entity_key, "user:testuser");
    assert.equal(e.unmapped?.["action"], "deny");
    assert.equal(e.unmapped?.["direction"], "inbound");
    assert.deepEqual(e.unmapped?.["reporting_device"], { hostname: "AFW1-UNKNOWN-FL1-CLZ", uid: "007051000184334" });
    assert.equal(e.metadata.product.vendor_name, "Palo Alto Networks");
  }
  assert.deepEqual(v4!.src_endpoint, { ip: "198.51.100.4", port: 22871 });
  assert.deepEqual(v4!.dst_endpoint, { ip: "198.51.100.6", port: 27092 });
  assert.deepEqual(v4!.device, { ip: "198.51.100.6" });
  assert.equal(v6!.src_endpoint?.ip, "2001:db8:3c4d:15::1a2f:1a2b");
});

test("cef: Check Point lines map; the one without any time is refused with a reason", () => {
  const [accept, bypass, drop] = CHECKPOINT.map((c) => c.line);
  const a = normalizeWith(cef, text(accept!));
  assert.ok(a.class_uid === 2004);
  assert.equal(a.finding_info.uid, "{0x5bfc70fc,0x1,0xfe65a8c0,0xc0000001}");
  assert.equal(a.finding_info.title, "Log: https");
  assert.equal(a.time, 1543270652000);
  assert.equal(a.severity_id, 1);
  assert.deepEqual(a.src_endpoint, { ip: "192.168.101.100", port: 49363 });
  assert.deepEqual(a.dst_endpoint, { ip: "89.160.20.156", port: 443 });
  assert.deepEqual(a.device, { ip: "192.168.101.100" }, "Internal → External: outbound, the source is affected");
  assert.equal(a.riposte.entity_key, "ip:192.168.101.100");
  assert.equal(a.unmapped?.["action"], "Accept");
  const b = normalizeWith(cef, text(bypass!));
  assert.ok(b.class_uid === 2004);
  assert.equal(b.message, "Encrypted session");
  assert.equal(b.time, 1545211330000);
  assert.deepEqual(b.evidences?.[0]?.file?.hashes, [
    { algorithm: "SHA-1", value: "55f4a511e6f630a6b1319505414f114e7bcaf13d" },
  ]);
  const d = normalizeWith(cef, text(drop!));
  assert.equal(d.riposte.time_fallback, true, "no rt, end or start: the received time, marked");
  assert.equal(d.time, 1_700_000_000_000);
});

test("cef: the bare Elastic lines carry no time and take the received time; with an RFC 5424 header, its time", () => {
  for (const line of BARE) {
    assert.ok(cef.detect(text(line)));
    const out = normalizeWith(cef, text(line));
    assert.equal(out.riposte.time_fallback, true, line);
    assert.ok(out.metadata.labels?.includes("riposte:time_fallback"), line);
  }
  const e = normalizeWith(cef, text(`<13>1 2024-05-02T10:11:12.000Z vaporware-01 httpd - - - ${BARE[1]!}`));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.time, Date.parse("2024-05-02T10:11:12.000Z"));
  assert.equal(e.finding_info.uid, "123");
  assert.equal(e.finding_info.title, "Authentication");
  assert.equal(e.severity_id, 2);
  assert.deepEqual(e.user, { name: "alice" });
  assert.deepEqual(e.actor?.user, { name: "bob" });
  assert.equal(e.riposte.entity_key, "user:alice");
  assert.deepEqual(e.evidences?.[0]?.file?.hashes, [{ algorithm: "MD5", value: "bc8bbe52f041fd17318f08a0f73762ce" }]);
});

test("cef: an outbound threat names the internal source as the device; Very-High is Critical", () => {
  const line =
    "CEF:0|Palo Alto Networks|PAN-OS|11.0|THREAT|Command and Control Traffic|9|rt=May 02 2024 10:11:12 UTC shost=ws-042.example.com src=10.4.2.42 spt=50123 dst=203.0.113.80 dpt=443 suser=EXAMPLE\\jdoe request=https://c2.example.com/beacon cs1=outbound-block cs1Label=Rule act=reset-both";
  const e = normalizeWith(cef, text(line));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.device?.hostname, "ws-042.example.com");
  assert.equal(e.riposte.entity_key, "host:ws-042.example.com");
  assert.equal(e.severity_id, 5);
  assert.equal(e.is_alert, true);
  assert.deepEqual(e.user, { name: "jdoe", domain: "EXAMPLE" });
  assert.equal(e.evidences?.[0]?.url?.hostname, "c2.example.com");
  assert.equal(e.time, Date.UTC(2024, 4, 2, 10, 11, 12));
});

test("cef: detection is specific; malformed lines give clear errors", () => {
  for (const l of [...FALCON, ...PALO, ...CHECKPOINT.map((c) => c.line)]) assert.ok(cef.detect(text(l)));
  assert.equal(cef.detect(text(corpusLines(`${DIR}tenzir__leef2.log`)[0]!)), false);
  assert.equal(cef.detect(text("<13>May  2 10:11:12 host sshd[1]: Accepted password for root")), false);
  assert.equal(cef.detect(json({ message: BARE[0]! })), false);
  assert.throws(
    () => cef.normalize(text("CEF:0|Vendor|Product|1.0")),
    /CEF header has 4 of its 8 pipe-separated fields/,
  );
  assert.throws(() => cef.normalize(json({ a: 1 })), /text line/);
});

test("cef: keys and custom labels named __proto__, constructor, toString are plain data; Object.prototype is untouched", () => {
  const line =
    "CEF:0|V|P|1|100|Probe|5|rt=1714644672000 src=10.0.0.5 __proto__=p constructor=c toString=t cs1Label=__proto__ cs1=evil cs2Label=constructor cs2=x cs3=y cs3Label=hasOwnProperty";
  const ext = parseCef(line).ext;
  assert.equal(Object.getPrototypeOf(ext), null);
  assert.ok(Object.hasOwn(ext, "__proto__") && ext["__proto__"] === "p");
  assert.equal(ext["constructor"], "c");
  assert.equal(ext["toString" as string], "t");
  const e = normalizeWith(cef, text(line));
  const custom = e.unmapped?.["custom"] as Record<string, string>;
  assert.ok(Object.hasOwn(custom, "__proto__"));
  assert.deepEqual(Object.entries(custom), [
    ["__proto__", "evil"],
    ["constructor", "x"],
    ["hasOwnProperty", "y"],
  ]);
  const round = JSON.parse(JSON.stringify(e.unmapped)) as { custom: Record<string, string> };
  assert.equal(Object.getOwnPropertyDescriptor(round.custom, "__proto__")?.value, "evil", "survives serialization");
  // Full names that are Object.prototype members are kept as they are, not mapped to a short name.
  assert.equal(e.message, "Probe");
  assert.equal(({} as Record<string, unknown>)["evil"], undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.equal(typeof ({} as { constructor: unknown }).constructor, "function");
});

test("cef is linear: an extension value with many inner spaces (time for 4n / time for n)", () => {
  // 4n = 80,000 inner spaces: 4.5 s before the fix.
  const r = growth((n) => {
    const line = `CEF:0|V|P|1|1|N|5|msg=a${" ".repeat(n)}b rt=1714644672000`;
    return () => cef.normalize(text(line));
  }, 20_000);
  assert.ok(r < LINEAR, `4x the input took ${r.toFixed(1)}x the time`);
});

test("cef is linear: a 64 KB line through detection and normalization (16 KB vs 64 KB)", () => {
  const shapes: Array<[string, (n: number) => string]> = [
    ["spaces", (n) => `CEF:0|V|P|1|1|N|5|rt=1714644672000 msg=${" ".repeat(n)}x`],
    ["spaces, escapes and =", (n) => `CEF:0|V|P|1|1|N|5|rt=1714644672000 msg=${"a \\= =  \\\\ ".repeat(n / 14)}`],
    ["many short pairs", (n) => `CEF:0|V|P|1|1|N|5|rt=1714644672000 ${"k=v ".repeat(n / 4)}`],
    ["many keys without =", (n) => `CEF:0|V|P|1|1|N|5|rt=1714644672000 ${"key ".repeat(n / 4)}`],
    [
      "behind RFC 5424 with structured data",
      (n) =>
        `<134>1 2026-11-20T10:00:00Z fw01 app - - ${'[a@1 x="y"]'.repeat(n / 28)} CEF:0|V|P|1|1|N|5|rt=1714644672000 msg=${" ".repeat(n / 2)}x`,
    ],
  ];
  for (const [name, line] of shapes) {
    const r = growth((n) => {
      const s = line(n);
      return () => normalizeEvent({ kind: "text", value: s }, s, { source: "fw", receivedTime: 1 });
    }, 16 * 1024);
    assert.ok(r < LINEAR, `${name}: 4x the input took ${r.toFixed(1)}x the time`);
  }
});
