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

test("suricata: every corpus event normalizes, each event type to its OCSF class; none is refused", () => {
  const want: Record<string, number> = {
    alert: 2004,
    ssh: 4007,
    http: 4002,
    fileinfo: 4010,
    dns: 4003,
    stats: 0,
    tls: 4001,
    flow: 4001,
  };
  const seen = new Set<string>();
  for (const ev of corpusEvents(FILE)) {
    const out = normalizeEvent(json(ev), JSON.stringify(ev), { source: "any", receivedTime: 1 });
    assert.ok(out.ok, JSON.stringify(out));
    const type = String(ev["event_type"]);
    seen.add(type);
    assert.equal(out.format, "suricata_eve");
    assert.equal(out.event.class_uid, want[type], type);
    assert.equal(out.event.metadata.event_code, type === "alert" ? out.event.metadata.event_code : type);
  }
  assert.deepEqual([...seen].sort(), Object.keys(want).sort());
});

test("suricata: corpus telemetry keeps its endpoints, protocol fields and observables", () => {
  const events = corpusEvents(FILE);
  const of = (type: string, i = 0) =>
    normalizeWith(suricata, json(events.filter((e) => e["event_type"] === type)[i] as Record<string, unknown>));
  const dns = of("dns");
  assert.ok(dns.class_uid === 4003);
  assert.equal(dns.activity_name, "Response");
  assert.deepEqual(dns.query, { hostname: "clients.l.google.com", type: "A" });
  assert.deepEqual(dns.answers, [{ rdata: "175.16.199.1", type: "A", ttl: 299 }]);
  assert.equal(dns.rcode_id, 0);
  assert.ok(dns.observables?.some((o) => o.type_id === 1 && o.value === "clients.l.google.com"));
  const http = of("http");
  assert.ok(http.class_uid === 4002);
  assert.equal(http.type_uid, 400203, "GET");
  assert.equal(http.http_request?.url?.url_string, "http://192.168.86.28/dd.xml");
  assert.equal(http.http_response?.code, 200);
  const file = of("fileinfo");
  assert.ok(file.class_uid === 4010);
  assert.equal(file.file.name, "device-desc.xml");
  assert.equal(file.file.hashes?.length, 3);
  assert.ok(file.observables?.some((o) => o.type_id === 8));
  const tls = of("tls");
  assert.ok(tls.class_uid === 4001);
  assert.equal(tls.tls?.sni, "p33-btmmdns.icloud.com");
  assert.equal(tls.dst_endpoint?.hostname, "p33-btmmdns.icloud.com");
  const ssh = of("ssh");
  assert.ok(ssh.class_uid === 4007);
  assert.equal(ssh.protocol_ver, "2.0");
  assert.equal(ssh.riposte.entity_key, "ip:192.168.86.85");
  const flow = of("flow");
  assert.ok(flow.class_uid === 4001);
  assert.deepEqual(flow.traffic, { bytes_out: 110, bytes_in: 0, packets_out: 1, packets_in: 0 });
  assert.equal(flow.connection_info?.protocol_num, 17);
  const stats = of("stats");
  assert.equal(stats.class_uid, 0);
  assert.equal(stats.unmapped?.["kernel_packets"], 430313);
});

// Shapes built field by field from Suricata's documentation, "Eve JSON Format"
// (docs.suricata.io/en/latest/output/eve/eve-json-format.html): the common section and each event type's section.
const tuple = {
  timestamp: "2026-11-20T09:14:02.000000+0000",
  flow_id: 1234567890,
  in_iface: "eth0",
  src_ip: "10.0.0.5",
  src_port: 49152,
  dest_ip: "192.0.2.25",
  dest_port: 25,
  proto: "TCP",
};

test("suricata (documented shapes): smtp is Email Activity with envelope and header addresses", () => {
  const e = normalizeWith(
    suricata,
    json({
      ...tuple,
      event_type: "smtp",
      tx_id: 0,
      smtp: { helo: "mail.example.org", mail_from: "<alice@example.org>", rcpt_to: ["<bob@example.net>"] },
      email: {
        status: "PARSE_DONE",
        from: "Alice <alice@example.org>",
        to: ["bob@example.net"],
        attachment: ["a.pdf"],
      },
    }),
  );
  assert.ok(e.class_uid === 4009);
  assert.equal(e.email.from, "Alice <alice@example.org>");
  assert.deepEqual(e.email.to, ["bob@example.net"]);
  assert.equal(e.unmapped?.["helo"], "mail.example.org");
  const envelopeOnly = normalizeWith(
    suricata,
    json({ ...tuple, event_type: "smtp", smtp: { mail_from: "<a@example.org>", rcpt_to: ["<b@example.net>"] } }),
  );
  assert.ok(envelopeOnly.class_uid === 4009);
  assert.equal(envelopeOnly.email.from, "a@example.org");
  assert.deepEqual(envelopeOnly.email.to, ["b@example.net"]);
});

test("suricata (documented shapes): anomaly, netflow, drop, dns v2 and other app-layer records", () => {
  const anomaly = normalizeWith(
    suricata,
    json({
      ...tuple,
      event_type: "anomaly",
      anomaly: { type: "applayer", event: "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION", layer: "proto_detect" },
    }),
  );
  assert.ok(anomaly.class_uid === 4001);
  assert.equal(anomaly.severity_id, 2);
  assert.match(anomaly.message ?? "", /APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION/);
  const decoder = normalizeWith(
    suricata,
    json({
      timestamp: tuple.timestamp,
      in_iface: "eth0",
      event_type: "anomaly",
      anomaly: { type: "decode", event: "decoder.ipv4.trunc_pkt" },
    }),
  );
  assert.equal(decoder.class_uid, 0, "a decoder anomaly without a flow tuple is a Base Event");
  const netflow = normalizeWith(
    suricata,
    json({
      ...tuple,
      event_type: "netflow",
      netflow: { pkts: 10, bytes: 1200, start: tuple.timestamp, end: tuple.timestamp, age: 0 },
    }),
  );
  assert.ok(netflow.class_uid === 4001);
  assert.deepEqual(netflow.traffic, { bytes: 1200, packets: 10 });
  const drop = normalizeWith(suricata, json({ ...tuple, event_type: "drop", drop: { len: 60, ttl: 64, syn: true } }));
  assert.ok(drop.class_uid === 4001 && drop.activity_id === 5 && drop.activity_name === "Refuse");
  const dnsV2 = normalizeWith(
    suricata,
    json({
      ...tuple,
      dest_port: 53,
      proto: "UDP",
      event_type: "dns",
      dns: {
        version: 2,
        type: "answer",
        id: 1,
        rrname: "example.com",
        rrtype: "A",
        rcode: "NXDOMAIN",
        answers: [{ rrname: "example.com", rrtype: "A", ttl: 60, rdata: "192.0.2.1" }],
      },
    }),
  );
  assert.ok(dnsV2.class_uid === 4003);
  assert.equal(dnsV2.rcode_id, 3);
  assert.deepEqual(dnsV2.answers, [{ rdata: "192.0.2.1", type: "A", ttl: 60 }]);
  const query = normalizeWith(
    suricata,
    json({
      ...tuple,
      event_type: "dns",
      dns: { type: "query", id: 2, rrname: "example.org", rrtype: "AAAA", tx_id: 0 },
    }),
  );
  assert.ok(query.class_uid === 4003 && query.activity_name === "Query" && query.query?.type === "AAAA");
  for (const [type, body] of [
    [
      "ftp",
      { command: "USER", command_data: "anonymous", completion_code: ["331"], reply: ["Please specify the password."] },
    ],
    ["smb", { id: 1, dialect: "3.11", command: "SMB2_COMMAND_CREATE", status: "STATUS_SUCCESS", filename: "a.txt" }],
    ["krb5", { msg_type: "KRB_AS_REQ", cname: "alice", realm: "EXAMPLE.ORG", sname: "krbtgt/EXAMPLE.ORG" }],
    ["dhcp", { type: "request", id: 1, client_mac: "00:11:22:33:44:55", hostname: "laptop" }],
    ["quic", { version: "1", sni: "example.com" }],
  ] as const) {
    const e = normalizeWith(suricata, json({ ...tuple, event_type: type, [type]: body }));
    assert.equal(e.class_uid, 4001, type);
    assert.ok(e.class_uid === 4001 && e.app_name === type, type);
    assert.equal(e.metadata.event_code, type);
  }
});

test("suricata: a record without event_type, or an alert without a signature, is a schema error, not a crash", () => {
  assert.throws(() => suricata.normalize(json({ ...tuple })), /without event_type/);
  const out = normalizeEvent(
    json({ timestamp: "2020-01-01T00:00:00Z", event_type: "alert", flow_id: 1, alert: {} }),
    "{}",
    { source: "suricata", receivedTime: 1 },
  );
  assert.equal(out.ok, false);
  assert.ok(!out.ok && out.code === "RIPOSTE_SCHEMA_INVALID" && /signature/.test(out.reason));
});
