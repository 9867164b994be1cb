/**
 * The API's HTTP server spans (in-memory exporter, Fastify inject): SERVER spans with the HTTP semantic-convention
 * attributes, the ingest span under them, and the sender's trace continued only for an authenticated, trusted
 * source — anyone else's request is a new trace linked to the sender's context.
 */
import { describe, test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { ATTR } from "../shared/semconv.ts";
import { initTelemetry, shutdownTelemetry } from "../shared/telemetry.ts";
import { Ingestor } from "../ingest/ingestor.ts";
import { buildApi, type Api } from "./app.ts";

const exporter = new InMemorySpanExporter();
initTelemetry({ serviceName: "riposte-test", exporter });

const topics = topicNames("spans");
const API_TOKEN = "api-token-0123456789abcdef";
const SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SENDER_SPAN = "00f067aa0ba902b7";
const traceparent = `00-${SENDER_TRACE}-${SENDER_SPAN}-01`;
const ALERT = JSON.stringify({
  timestamp: "2026-11-20T09:14:02.118402+0000",
  flow_id: 1,
  event_type: "alert",
  src_ip: "10.1.1.1",
  dest_ip: "198.51.100.1",
  proto: "TCP",
  alert: { action: "allowed", gid: 1, signature_id: 1, rev: 1, signature: "Test", category: "Test", severity: 1 },
});

describe("HTTP server spans", () => {
  let bus: MemoryBus;
  let api: Api;
  before(async () => {
    bus = new MemoryBus();
    await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 1 })));
    api = buildApi({
      log: silentLogger,
      metrics: new Metrics(),
      apiToken: API_TOKEN,
      sourceTokens: {},
      maxBodyBytes: 1024 * 1024,
      hmacSecrets: {},
      replayWindowMs: 300_000,
      ingestor: new Ingestor({ bus, topics, metrics: new Metrics() }),
      traceTrustedSources: ["edr"],
    });
    await api.ready();
  });
  after(async () => {
    await api.close();
    await bus.close();
    await shutdownTelemetry();
  });
  beforeEach(() => exporter.reset());

  const post = (url: string, headers: Record<string, string> = {}) =>
    api.inject({
      method: "POST",
      url,
      payload: ALERT,
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json", traceparent, ...headers },
    });
  const server = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  const ingestUnder = (span: ReadableSpan) =>
    exporter
      .getFinishedSpans()
      .find((s) => s.name === "ingest" && s.parentSpanContext?.spanId === span.spanContext().spanId);

  test("an untrusted sender's request is a new trace: a SERVER span linked to its context, ingest under it", async () => {
    const res = await post("/v1/alerts/suricata?format=suricata&token=not-in-the-span");
    assert.equal(res.statusCode, 202, res.body);
    const [span, ...more] = server();
    assert.ok(span && more.length === 0, "one server span");
    assert.equal(span.name, "POST /v1/alerts/:source");
    assert.equal(span.parentSpanContext, undefined, "a root span");
    assert.notEqual(span.spanContext().traceId, SENDER_TRACE);
    assert.deepEqual(
      span.links.map((l) => [l.context.traceId, l.context.spanId]),
      [[SENDER_TRACE, SENDER_SPAN]],
    );
    assert.equal(span.attributes[ATTR.httpMethod], "POST");
    assert.equal(span.attributes[ATTR.httpRoute], "/v1/alerts/:source");
    assert.equal(span.attributes[ATTR.httpStatus], 202);
    assert.equal(span.attributes[ATTR.urlPath], "/v1/alerts/suricata", "no query in the span");
    assert.equal(span.attributes[ATTR.urlScheme], "http");
    assert.doesNotMatch(JSON.stringify(span.attributes), /not-in-the-span/);
    assert.ok(ingestUnder(span), "the ingest span is the server span's child");
    assert.equal(res.json<{ trace_id: string }>().trace_id, span.spanContext().traceId);
  });

  test("a trusted, authenticated sender's trace is continued by the server span", async () => {
    await post("/v1/alerts/edr?format=suricata");
    const [span] = server();
    assert.ok(span);
    assert.equal(span.spanContext().traceId, SENDER_TRACE);
    assert.equal(span.parentSpanContext?.spanId, SENDER_SPAN);
    assert.deepEqual(span.links, []);
    assert.ok(ingestUnder(span));
  });

  test("a request refused by authentication still has a span, in a new trace, whatever source it names", async () => {
    const res = await post("/v1/alerts/edr", { authorization: "Bearer wrong-token-0123456789" });
    assert.equal(res.statusCode, 401);
    const [span] = server();
    assert.ok(span);
    assert.notEqual(span.spanContext().traceId, SENDER_TRACE, "an unauthenticated sender does not choose the trace");
    assert.equal(span.links.length, 1);
    assert.equal(span.attributes[ATTR.httpStatus], 401);
    assert.equal(span.status.code, SpanStatusCode.UNSET, "a 4xx is not a server error");
  });

  test("other routes and unknown paths: the route template, or the method alone", async () => {
    await api.inject({ method: "GET", url: "/v1/stats", headers: { authorization: `Bearer ${API_TOKEN}` } });
    await api.inject({ method: "GET", url: "/nowhere?x=1", headers: { authorization: `Bearer ${API_TOKEN}` } });
    const [stats, missing] = server();
    assert.equal(stats?.name, "GET /v1/stats");
    assert.equal(stats.attributes[ATTR.httpStatus], 200);
    assert.equal(missing?.attributes[ATTR.httpStatus], 404);
    assert.equal(missing.attributes[ATTR.urlPath], "/nowhere");
    assert.equal(missing.attributes[ATTR.httpRoute], undefined);
  });
});
