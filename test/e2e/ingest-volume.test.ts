/**
 * 10,000 mixed events over HTTP (NDJSON batches) and syslog (TCP and UDP) into the ingest service on real Kafka:
 * every one is found on riposte.alerts.normalized or riposte.dlq, none missing, none twice.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createSocket } from "node:dgram";
import { corpusEvents, corpusLines } from "../../services/ingest/normalizers/testing.ts";
import { freePorts } from "../infra/proc.ts";
import { eventually } from "../support/env.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { requireKafka } from "../support/env.ts";
import { KafkaBus } from "../../services/shared/bus/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";

const JSON_FILES = [
  "suricata/elastic-integrations__suricata_eve__test-eve-small.log",
  "zeek/elastic-integrations__zeek_notice__test-notice.log",
  "microsoft_defender/elastic-integrations__m365_defender_alert__test-alert.log",
  "elastic_security_alerts/elastic-integrations__elastic_security_alert__test-alert.log",
  "aws_guardduty/panther-analysis__AWS.GuardDuty.jsonl",
  "okta/panther-analysis__Okta.SystemLog.jsonl",
  "wazuh/wazuh5-sample-findings-fim_findings.ndjson",
  "proofpoint_tap/elastic-integrations__proofpoint_tap_clicks_blocked__test-clicks-blocked.log",
  "google_workspace/elastic-integrations__google_workspace_alert__test-alert.log",
];
const TEXT_FILES = [
  "cef_leef_syslog/elastic-integrations__cef_log__test-cef.log",
  "cef_leef_syslog/azure-sentinel__PaloAlto_CortexDataLake_ASimNetworkSession_RawLogs.txt",
  "cef_leef_syslog/tenzir__leef2.log",
];

const HTTP_EVENTS = 8_000;
const TCP_LINES = 1_900;
const UDP_LINES = 100;

let h: Harness | undefined;
after(async () => h?.stop());

test("10,000 mixed events over HTTP and syslog: each on the normalized topic or the DLQ exactly once", async () => {
  const [tcpPort = 0, udpPort = 0] = await freePorts(2);
  h = await startHarness(
    "distributed",
    "http://127.0.0.1:9",
    { RIPOSTE_SYSLOG_TCP_PORT: String(tcpPort), RIPOSTE_SYSLOG_UDP_PORT: String(udpPort) },
    ["ingest"],
  );
  const harness = h;

  const templates = JSON_FILES.flatMap((f) => corpusEvents(f));
  const jsonLines: string[] = [];
  for (let i = 0; jsonLines.length < HTTP_EVENTS; i++) {
    if (i % 97 === 0) jsonLines.push(`{"broken": ${i}`);
    else if (i % 89 === 0) jsonLines.push(JSON.stringify({ unknown_vendor: true, seq: i }));
    else jsonLines.push(JSON.stringify({ ...templates[i % templates.length], riposte_test_seq: i }));
  }
  const cef = TEXT_FILES.flatMap((f) => corpusLines(f));
  const textLine = (i: number) =>
    `${cef[i % cef.length]}${cef[i % cef.length]?.includes("CEF:") ? ` cs6Label=seq cs6=${i}` : `\tseq=${i}`}`;
  const tcpLines = Array.from({ length: TCP_LINES }, (_, i) => textLine(i));
  const udpLines = Array.from({ length: UDP_LINES }, (_, i) => textLine(TCP_LINES + i));

  const posts: Array<Promise<void>> = [];
  for (let b = 0; b < jsonLines.length; b += 100) {
    const body = jsonLines.slice(b, b + 100).join("\n");
    posts.push(
      harness.post("mixed", body, { "content-type": "application/x-ndjson" }).then((r) => {
        assert.ok(r.status === 202 || r.status === 400 || r.status === 422, `HTTP ${r.status}`);
      }),
    );
    if (posts.length >= 8) await Promise.all(posts.splice(0));
  }
  await Promise.all(posts);

  // Octet counting and newline framing are detected per connection: half the lines on each.
  const half = TCP_LINES / 2;
  await sendTcp(
    tcpPort,
    tcpLines
      .slice(0, half)
      .map((l) => `${Buffer.byteLength(l)} ${l}`)
      .join(""),
  );
  await sendTcp(
    tcpPort,
    tcpLines
      .slice(half)
      .map((l) => `${l}\n`)
      .join(""),
  );
  const udp = createSocket("udp4");
  for (const line of udpLines) {
    await new Promise<void>((resolve, reject) =>
      udp.send(line, udpPort, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
    );
    await new Promise((r) => setTimeout(r, 2));
  }
  udp.close();

  const sent = [...jsonLines, ...tcpLines, ...udpLines].map((s) => s.trim());
  assert.equal(sent.length, 10_000);
  assert.equal(new Set(sent).size, 10_000, "every sent event is distinct");
  const total = () => harness.normalized.length + harness.dlq.length;
  await eventually(() => total() >= 10_000, `10,000 records (have ${total()})`, 120_000);
  await new Promise((r) => setTimeout(r, 1_000));

  const seen = new Map<string, number>();
  for (const e of harness.normalized)
    seen.set(String(e["raw_data"]).trim(), (seen.get(String(e["raw_data"]).trim()) ?? 0) + 1);
  for (const d of harness.dlq) {
    const text = Buffer.from(String(d["original"]), "base64").toString("utf8").trim();
    seen.set(text, (seen.get(text) ?? 0) + 1);
  }
  const missing = sent.filter((s) => !seen.has(s));
  const twice = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(missing.slice(0, 3), [], `${missing.length} events missing`);
  assert.deepEqual(twice.slice(0, 3), [], `${twice.length} events twice`);
  assert.equal(harness.normalized.length + harness.dlq.length, 10_000);
  assert.ok(harness.normalized.length > 5_000, `most are alerts (${harness.normalized.length} normalized)`);
  assert.ok(
    harness.dlq.every((d) => typeof d["reason"] === "string" && d["reason"] !== ""),
    "every DLQ record has a reason",
  );
});

test("raw vendor events produced to <prefix>.alerts.raw are normalized, with the source from the header", async () => {
  const harness = h as Harness;
  const bus = new KafkaBus({ brokers: await requireKafka(), clientId: "raw-producer", log: silentLogger });
  try {
    const alert = corpusEvents("suricata/elastic-integrations__suricata_eve__test-eve-small.log").find(
      (e) => e["event_type"] === "alert",
    );
    const body = JSON.stringify({ ...alert, flow_id: 777_001 });
    const before = harness.normalized.length;
    await bus.publish(topicNames(harness.prefix).raw, [
      { key: null, value: body, headers: { "riposte-source": "ids-raw" } },
      { key: null, value: "not an event at all", headers: { "riposte-source": "ids-raw" } },
    ]);
    await eventually(
      () => harness.normalized.some((e) => String(e["raw_data"]) === body),
      "the raw event normalized",
      60_000,
    );
    const e = harness.normalized.slice(before).find((x) => String(x["raw_data"]) === body) as {
      riposte: { source: string };
    };
    assert.equal(e.riposte.source, "ids-raw");
    await eventually(
      () => harness.dlq.some((d) => Buffer.from(String(d["original"]), "base64").toString() === "not an event at all"),
      "the bad raw event dead-lettered",
      60_000,
    );
  } finally {
    await bus.close();
  }
});

function sendTcp(port: number, payload: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(payload));
    socket.on("close", () => resolve());
    socket.on("error", reject);
  });
}
