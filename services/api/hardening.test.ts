/**
 * The ingest API against a hostile sender: each test reproduces one finding of the hardening issue (numbered as
 * there) and checks that it now holds. Memory bus, real Fastify (inject).
 */
import { describe, test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { request } from "node:http";
import { MemoryBus, type Bus, type InMessage, type Subscription } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { RiposteError } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { initTelemetry } from "../shared/telemetry.ts";
import { Ingestor } from "../ingest/ingestor.ts";
import { buildApi, type Api } from "./app.ts";
import { signRequest } from "./auth.ts";

initTelemetry({ serviceName: "riposte-test" });

const topics = topicNames("hard");
const API_TOKEN = "api-token-0123456789abcdef";
const OKTA_TOKEN = "okta-token-0123456789abcdef";
const HMAC_SECRET = "hmac-secret-0123456789abcdef";
const ALERT = JSON.stringify({
  timestamp: "2026-11-20T09:14:02.118402+0000",
  flow_id: 1,
  event_type: "alert",
  src_ip: "10.1.1.1",
  dest_ip: "198.51.100.1",
  proto: "TCP",
  alert: { action: "allowed", gid: 1, signature_id: 1, rev: 1, signature: "Test", category: "Test", severity: 1 },
});
const FALCON = JSON.stringify({
  metadata: { eventType: "DetectionSummaryEvent", eventCreationTime: 1732000000000, customerIDString: "c" },
  event: {
    DetectId: "ldt:abc:1",
    ComputerName: "FIN-WS-042",
    Severity: 5,
    SeverityName: "Critical",
    Tactic: "Execution",
    Technique: "PowerShell",
    DetectName: "forged",
    DetectDescription: "forged",
    LocalIP: "10.0.0.5",
  },
});

/** A POST whose path goes out exactly as given. */
function rawPost(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

type Answer = {
  accepted?: number;
  normalized?: number;
  dead_lettered?: number;
  failed?: Record<string, number>;
  items?: Array<{ code?: string; status: string }>;
  items_omitted?: number;
  trace_id?: string;
  error?: { code: string; message: string };
};

describe("ingest API under hostile input", () => {
  let bus: MemoryBus;
  let api: Api;
  let sub: Subscription;
  let got: InMessage[];

  function build(b: Bus, extra: Partial<Parameters<typeof buildApi>[0]> = {}) {
    const ingestor = new Ingestor({
      bus: b,
      topics,
      metrics: new Metrics(),
      sourceFormats: { okta: ["okta_system_log"], signed: ["*"], edr: ["crowdstrike_falcon"] },
    });
    return buildApi({
      log: silentLogger,
      metrics: new Metrics(),
      apiToken: API_TOKEN,
      sourceTokens: { okta: OKTA_TOKEN },
      maxBodyBytes: 10 * 1024 * 1024,
      hmacSecrets: { signed: HMAC_SECRET },
      replayWindowMs: 300_000,
      ingestor,
      traceTrustedSources: ["edr"],
      ...extra,
    });
  }
  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    api.inject({
      method: "POST",
      url,
      payload,
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json", ...headers },
    });
  const onTopic = (t: string) => got.filter((m) => m.topic === t);

  beforeEach(async () => {
    bus = new MemoryBus();
    await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 2 })));
    got = [];
    sub = await bus.subscribe({
      groupId: "t",
      topics: [topics.normalized, topics.dlq],
      handler: async (b) => void got.push(...b),
    });
    api = build(bus);
    await api.ready();
  });
  afterEach(async () => {
    await api.close();
    await sub.stop();
    await bus.close();
  });

  test("1. a gzip body of 3,000,000 lines of {} is refused with 413 naming the limit, without a heap blow-up", async () => {
    const body = gzipSync("{}\n".repeat(3_000_000));
    const before = process.memoryUsage().heapUsed;
    const res = await post("/v1/alerts/suricata", body, { "content-encoding": "gzip" });
    assert.equal(res.statusCode, 413, res.body.slice(0, 300));
    const a = res.json<Answer>();
    assert.equal(a.error?.code, "RIPOSTE_TOO_MANY_EVENTS");
    assert.match(a.error?.message ?? "", /50000 events \(RIPOSTE_INGEST_MAX_EVENTS\)/);
    assert.ok(res.body.length < 1_000, "the refusal is one short error");
    assert.ok(process.memoryUsage().heapUsed - before < 256 * 1024 * 1024, "no per-line records built");
    assert.equal(got.length, 0, "nothing of a refused body is published");
  });

  test("1. under the cap, the answer is summarised by code and bounded; every piece is on the DLQ", async () => {
    const res = await post("/v1/alerts/custom", "{}\n".repeat(20_000));
    assert.equal(res.statusCode, 422);
    const a = res.json<Answer>();
    assert.equal(a.accepted, 20_000);
    assert.deepEqual(a.failed, { RIPOSTE_FORMAT_UNKNOWN: 20_000 });
    assert.equal(a.items?.length, 500);
    assert.equal(a.items_omitted, 19_500);
    assert.ok(res.body.length < 300_000, `answer of ${res.body.length} bytes`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(onTopic(topics.dlq).length, 20_000, "every piece dead-lettered, in chunks");
  });

  test("2. /healthz is answered while a body of 40,000 broken lines is split and dead-lettered", async () => {
    const big = post("/v1/alerts/custom", "{\n".repeat(40_000));
    let answered = 0;
    let done = false;
    void big.then(() => (done = true));
    while (!done) {
      const h = await api.inject({ method: "GET", url: "/healthz" });
      if (h.statusCode === 200) answered++;
      if (answered > 1000) break;
    }
    assert.ok(answered >= 2, `healthz answered ${answered} times while the body was processed`);
    const status = (await big).statusCode;
    assert.ok(status === 400 || status === 422, `answered ${status}`);
  });

  test("3. one event nested 20,000 deep costs only itself: the valid detection is ingested", async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`;
    const res = await post("/v1/alerts/suricata", `${ALERT}\n${deep}\n`);
    assert.equal(res.statusCode, 202, res.body.slice(0, 300));
    const a = res.json<Answer>();
    assert.deepEqual([a.normalized, a.dead_lettered], [1, 1]);
    assert.equal(a.items?.[1]?.code, "RIPOSTE_NESTING_TOO_DEEP");
    const arr = await post("/v1/alerts/suricata", `[${ALERT}, ${"[".repeat(30_000)}${"]".repeat(30_000)}]`);
    assert.equal(arr.statusCode, 202, arr.body.slice(0, 300));
  });

  test("3. ?format given twice, or not as a name, is a 400 in the catalogue's shape", async () => {
    for (const q of ["?format=a&format=b", "?format=", `?format=${"x".repeat(100)}`]) {
      const res = await post(`/v1/alerts/suricata${q}`, ALERT);
      assert.equal(res.statusCode, 400, q);
      assert.equal(res.json<Answer>().error?.code, "RIPOSTE_QUERY_INVALID");
    }
  });

  test("4. a per-source token cannot pass off another format: forged detections are refused, none published", async () => {
    const res = await post("/v1/alerts/okta?format=crowdstrike", Array(50).fill(FALCON).join("\n"), {
      authorization: `Bearer ${OKTA_TOKEN}`,
    });
    assert.equal(res.statusCode, 422, res.body.slice(0, 300));
    assert.deepEqual(res.json<Answer>().failed, { RIPOSTE_FORMAT_NOT_ALLOWED: 50 });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(onTopic(topics.normalized).length, 0);
    const dlq = onTopic(topics.dlq).map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>);
    assert.equal(dlq.length, 50);
    assert.equal(dlq[0]?.["requested_format"], "crowdstrike", "the DLQ keeps the format the sender asked for");
  });

  test("6. trace context is continued only from trusted sources; otherwise a new trace starts", async () => {
    const senderTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traceparent = `00-${senderTrace}-00f067aa0ba902b7-01`;
    const untrusted = (await post("/v1/alerts/suricata", ALERT, { traceparent })).json<Answer>();
    assert.match(untrusted.trace_id ?? "", /^[0-9a-f]{32}$/);
    assert.notEqual(untrusted.trace_id, senderTrace, "an untrusted sender does not choose the trace");
    assert.notEqual(untrusted.trace_id, "0".repeat(32));
    const trusted = (await post("/v1/alerts/edr?format=suricata", ALERT, { traceparent })).json<Answer>();
    assert.ok(trusted.trace_id === senderTrace || trusted.error?.code === "RIPOSTE_FORMAT_NOT_ALLOWED");
    const trustedOk = await post("/v1/alerts/edr", FALCON, { traceparent });
    assert.equal(trustedOk.json<Answer>().trace_id, senderTrace, "a trusted sender's trace is continued");
  });

  test("7. HMAC covers method, path and query, and a signature is used once", async () => {
    const url = "/v1/alerts/signed";
    const sig = signRequest("POST", url, ALERT, HMAC_SECRET);
    const withQuery = await post(`${url}?format=crowdstrike`, ALERT, { "x-riposte-signature": sig });
    assert.equal(withQuery.statusCode, 401, "the same signature with ?format= added is refused");
    assert.equal(withQuery.json<Answer>().error?.code, "RIPOSTE_SIGNATURE_INVALID");
    assert.equal((await post(url, ALERT, { "x-riposte-signature": sig })).statusCode, 202);
    const again = await post(url, ALERT, { "x-riposte-signature": sig });
    assert.equal(again.statusCode, 401, "a replayed signature is refused within the window");
    assert.equal(again.json<Answer>().error?.code, "RIPOSTE_SIGNATURE_REPLAYED");
    const q = `${url}?format=suricata_eve`;
    assert.equal(
      (await post(q, ALERT, { "x-riposte-signature": signRequest("POST", q, ALERT, HMAC_SECRET) })).statusCode,
      202,
    );
  });

  test("7. bad source names are 400, long ones 414, bad URLs 400, other encodings 415: all in the catalogue's shape", async () => {
    const cases: Array<[string, number, string, Record<string, string>?]> = [
      ["/v1/alerts/..", 400, "RIPOSTE_SOURCE_INVALID"],
      ["/v1/alerts/.", 400, "RIPOSTE_SOURCE_INVALID"],
      ["/v1/alerts/%2E%2E", 400, "RIPOSTE_SOURCE_INVALID"],
      ["/v1/alerts/a%20b", 400, "RIPOSTE_SOURCE_INVALID"],
      [`/v1/alerts/${"a".repeat(200)}`, 414, "RIPOSTE_URL_TOO_LONG"],
      ["/v1/alerts/%E0%A4%A", 400, "RIPOSTE_URL_INVALID"],
      ["/v1/alerts/suricata", 415, "RIPOSTE_MEDIA_UNSUPPORTED", { "content-encoding": "deflate" }],
      ["/v1/alerts/suricata", 415, "RIPOSTE_MEDIA_UNSUPPORTED", { "content-encoding": "x-gzip" }],
      ["/v1/alerts/suricata", 415, "RIPOSTE_MEDIA_UNSUPPORTED", { "content-encoding": "gzip, br" }],
      ["/v1/nothing", 404, "RIPOSTE_NOT_FOUND"],
    ];
    // Over real HTTP: an injected request would have its path normalized (`..` resolved) before the router.
    const base = await api.listen({ host: "127.0.0.1", port: 0 });
    const { port } = new URL(base);
    for (const [url, status, code, headers] of cases) {
      const res = await rawPost(Number(port), url, ALERT, { authorization: `Bearer ${API_TOKEN}`, ...headers });
      assert.equal(res.status, status, `${url} ${JSON.stringify(headers)}: ${res.body}`);
      const a = JSON.parse(res.body) as Answer;
      assert.equal(a.error?.code, code, url);
      assert.equal(typeof a.error?.message, "string");
      assert.deepEqual(Object.keys(a), ["error"], "only the catalogue's shape");
    }
  });

  test("8. when the bus cannot acknowledge: 503 with Retry-After, and the answer claims nothing accepted", async () => {
    let calls = 0;
    const failing: Bus = Object.assign(Object.create(bus) as Bus, {
      publishBatch: async (batches: Parameters<Bus["publishBatch"]>[0]) => {
        // The first chunk is acknowledged, the second is not.
        if (calls++ === 0) return bus.publishBatch(batches);
        throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", "Kafka did not acknowledge the batch");
      },
    });
    const down = build(failing);
    const lines = Array.from({ length: 1_200 }, (_, i) => ALERT.replace('"flow_id":1', `"flow_id":${i}`));
    const res = await down.inject({
      method: "POST",
      url: "/v1/alerts/suricata",
      payload: lines.join("\n"),
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    await down.close();
    assert.ok(calls >= 2, "the body was published in chunks");
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers["retry-after"], "5");
    const a = res.json<Answer>();
    assert.deepEqual(Object.keys(a), ["error"], "no accepted/normalized counts, no items");
    assert.equal(a.error?.code, "RIPOSTE_BUS_UNAVAILABLE");
    assert.match(a.error?.message ?? "", /acknowledge/);
  });
});
