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

test("zeek: detection claims the notices, nested id records and other Zeek logs (mapped), not other vendors", () => {
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
  assert.equal(normalizeWith(zeekNotice, json(conn)).class_uid, 4001);
  for (const other of otherVendors("zeek")) assert.equal(zeekNotice.detect(json(other)), false);
  assert.equal(zeekNotice.detect(json({ ts: 1, note: "free text", msg: "x" })), false);
});

test("zeek: a notice with an unparsable ts takes the received time; one without a note is a clear error", () => {
  const late = normalizeWith(zeekNotice, json({ ts: "yesterday", note: "Scan::Port_Scan", msg: "m" }));
  assert.equal(late.riposte.time_fallback, true, "an unreadable ts takes the received time");
  assert.throws(() => zeekNotice.normalize(json({ _path: "notice", ts: 1 })), /without `note`/);
});

// Records built field by field from Zeek's log documentation (docs.zeek.org/en/current/logs/: conn.log, dns.log,
// http.log, ssl.log, ssh.log, files.log, weird.log, x509.log) and the script reference of each log's Info record.
const ID = { "id.orig_h": "10.0.0.5", "id.orig_p": 49152, "id.resp_h": "192.0.2.80", "id.resp_p": 443 };
const zeek = (rec: Record<string, unknown>) =>
  normalizeWith(zeekNotice, json({ ts: 1764669600.5, uid: "CHhAvVGS1DHFjwGM9", ...ID, ...rec }));

test("zeek (documented logs): conn, dns, http, ssl, ssh, files, weird and others map to their OCSF classes", () => {
  const conn = zeek({
    _path: "conn",
    proto: "tcp",
    service: "ssl",
    duration: 1.5,
    orig_bytes: 517,
    resp_bytes: 4096,
    conn_state: "SF",
    history: "ShADadFf",
    orig_pkts: 8,
    resp_pkts: 9,
  });
  assert.ok(conn.class_uid === 4001);
  assert.equal(conn.activity_name, "Close");
  assert.deepEqual(conn.traffic, { bytes_out: 517, bytes_in: 4096, packets_out: 8, packets_in: 9 });
  assert.equal(conn.app_name, "ssl");
  assert.equal(conn.connection_info?.uid, "CHhAvVGS1DHFjwGM9");
  assert.equal(conn.metadata.correlation_uid, "CHhAvVGS1DHFjwGM9");
  assert.equal(conn.riposte.entity_key, "ip:10.0.0.5");
  assert.equal(conn.time, 1764669600500);
  assert.equal(zeek({ _path: "conn", proto: "tcp", conn_state: "REJ" }).activity_name, "Refuse");

  const dns = zeek({
    _path: "dns",
    proto: "udp",
    "id.resp_p": 53,
    trans_id: 7,
    query: "example.com",
    qclass: 1,
    qclass_name: "C_INTERNET",
    qtype: 1,
    qtype_name: "A",
    rcode: 0,
    rcode_name: "NOERROR",
    answers: ["192.0.2.1"],
    TTLs: [300.0],
  });
  assert.ok(dns.class_uid === 4003);
  assert.deepEqual(dns.query, { hostname: "example.com", type: "A", class: "C_INTERNET" });
  assert.deepEqual(dns.answers, [{ rdata: "192.0.2.1", ttl: 300 }]);
  assert.equal(dns.rcode_id, 0);

  const http = zeek({
    _path: "http",
    trans_depth: 1,
    method: "POST",
    host: "example.com",
    uri: "/upload",
    version: "1.1",
    user_agent: "curl/8.0",
    request_body_len: 10,
    response_body_len: 2,
    status_code: 201,
    status_msg: "Created",
  });
  assert.ok(http.class_uid === 4002);
  assert.equal(http.activity_name, "Post");
  assert.equal(http.http_request?.url?.url_string, "http://example.com/upload");
  assert.equal(http.http_response?.code, 201);
  assert.equal(http.dst_endpoint?.hostname, "example.com");

  const ssl = zeek({
    _path: "ssl",
    version: "TLSv13",
    cipher: "TLS_AES_128_GCM_SHA256",
    server_name: "example.com",
    established: true,
    resumed: false,
  });
  assert.ok(ssl.class_uid === 4001);
  assert.equal(ssl.tls?.sni, "example.com");
  assert.equal(ssl.tls?.version, "TLSv13");
  assert.equal(ssl.activity_name, "Open");

  const ssh = zeek({
    _path: "ssh",
    "id.resp_p": 22,
    version: 2,
    auth_success: false,
    auth_attempts: 3,
    client: "SSH-2.0-OpenSSH_9.6",
    server: "SSH-2.0-OpenSSH_8.9",
    hassh: "ec7378c1a92f5a8dde7e8b7a1ddf33d1",
    hasshServer: "b12d2871a1189eff20364cf5333619ee",
  });
  assert.ok(ssh.class_uid === 4007);
  assert.equal(ssh.activity_name, "Fail");
  assert.equal(ssh.protocol_ver, "2");
  assert.deepEqual(ssh.client_hassh, { fingerprint: { algorithm: "MD5", value: "ec7378c1a92f5a8dde7e8b7a1ddf33d1" } });

  const files = normalizeWith(
    zeekNotice,
    json({
      _path: "files",
      ts: 1764669600.5,
      fuid: "FZr3Vc1Nb8S0Y0kq7",
      tx_hosts: ["192.0.2.80"],
      rx_hosts: ["10.0.0.5"],
      conn_uids: ["CHhAvVGS1DHFjwGM9"],
      source: "HTTP",
      mime_type: "application/x-dosexec",
      filename: "setup.exe",
      is_orig: false,
      seen_bytes: 1024,
      total_bytes: 1024,
      md5: "d41d8cd98f00b204e9800998ecf8427e",
      sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    }),
  );
  assert.ok(files.class_uid === 4010);
  assert.equal(files.activity_name, "Download");
  assert.equal(files.file.name, "setup.exe");
  assert.equal(files.file.hashes?.length, 2);
  assert.equal(files.src_endpoint?.ip, "192.0.2.80");
  assert.equal(files.metadata.correlation_uid, "CHhAvVGS1DHFjwGM9");

  const weird = zeek({
    _path: "weird",
    name: "bad_TCP_checksum",
    addl: "",
    notice: false,
    peer: "zeek",
    source: "TCP",
  });
  assert.ok(weird.class_uid === 4001 && weird.activity_id === 99);
  assert.equal(weird.severity_id, 2);

  const x509 = normalizeWith(
    zeekNotice,
    json({ _path: "x509", ts: 1764669600.5, fingerprint: "abc", "certificate.subject": "CN=example.com" }),
  );
  assert.equal(x509.class_uid, 0);
  assert.equal(x509.metadata.log_name, "x509");
});

test("zeek (documented logs): without _path, the log is told by its own fields", () => {
  const unlabelled = [
    [{ proto: "tcp", conn_state: "S0", history: "S" }, 4001],
    [{ trans_id: 7, query: "example.com", qtype_name: "A" }, 4003],
    [{ trans_depth: 1, method: "GET", host: "example.com", uri: "/" }, 4002],
    [{ server_name: "example.com", established: false }, 4001],
    [{ auth_success: true, client: "SSH-2.0-x", server: "SSH-2.0-y" }, 4007],
  ] as const;
  for (const [rec, cls] of unlabelled) {
    const ev = { ts: 1764669600.5, uid: "C1", ...ID, ...rec };
    assert.ok(zeekNotice.detect(json(ev)), JSON.stringify(rec));
    assert.equal(normalizeWith(zeekNotice, json(ev)).class_uid, cls, JSON.stringify(rec));
  }
  const file = {
    ts: 1764669600.5,
    fuid: "F1",
    tx_hosts: ["192.0.2.80"],
    rx_hosts: ["10.0.0.5"],
    seen_bytes: 1,
    mime_type: "text/plain",
  };
  assert.ok(zeekNotice.detect(json(file)));
  assert.equal(normalizeWith(zeekNotice, json(file)).class_uid, 4010);
});
