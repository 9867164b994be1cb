/**
 * One trace per response, with the services as separate processes on real Kafka and Redis: the spans every
 * process exports over OTLP/HTTP (ingest as JSON, correlator and executor as protobuf) to a receiver here are
 * decoded, and one trace holds the API's HTTP server span → ingest → correlate → playbook → step → connector call →
 * HTTP request, each the child of the one before, with the Redis calls of the correlator (its incident grouping) and the executor under
 * their spans; its trace id is the audit record's and the one in the vendor request's traceparent.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { corpusEvents } from "../../services/ingest/normalizers/testing.ts";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { eventually } from "../support/env.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp.ts";

const ALERT = corpusEvents("suricata/elastic-integrations__suricata_eve__test-eve-small.log").find(
  (e) => e["event_type"] === "alert",
) as Record<string, unknown>;
const DEVICE_ID = "5f2e8a1c9b3d4e7fa0b1c2d3e4f5a6b7";

describe("one trace from the raw alert to the vendor's answer (distributed, OTLP)", () => {
  let edr: FalconFake;
  let otlp: OtlpReceiver;
  let h: Harness;

  before(async () => {
    edr = await startFalconFake({ "192.168.86.85": DEVICE_ID });
    otlp = await startOtlpReceiver();
    h = await startHarness(
      "distributed",
      edr.url,
      { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: "200", OTEL_TRACES_SAMPLER: "always_on" },
      ["ingest", "correlator", "executor"],
      {
        ingest: { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
        correlator: { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" },
        executor: { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" },
      },
    );
  });
  after(async () => {
    await h?.stop();
    await edr?.close();
    await otlp?.close();
  });

  test("HTTP server → ingest → correlate (+ Redis) → playbook → step (+ Redis) → connector → HTTP, in one trace", async () => {
    const res = await h.post("suricata", JSON.stringify(ALERT));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const traceId = String(res.body["trace_id"]);
    await eventually(() => h.actions.some((a) => a["step"] === "contain-falcon"), "the contain audit record", 60_000);
    const audit = h.actions.find((a) => a["step"] === "contain-falcon") as Record<string, unknown>;
    assert.equal(audit["status"], "succeeded");
    assert.equal(audit["trace_id"], traceId, "the audit record names the trace");
    const contain = edr.actions()[0];
    assert.match(String(contain?.headers["traceparent"]), new RegExp(`^00-${traceId}-`), "the vendor saw it");

    const spansOf = () => otlp.spans.filter((s) => s.traceId === traceId);
    const named = (name: string | RegExp) =>
      spansOf().find((s) => (typeof name === "string" ? s.name === name : name.test(s.name)));
    await eventually(
      () =>
        ["POST /v1/alerts/:source", "ingest", "correlate", /^playbook /, /^step /, "crowdstrike.contain_host"].every(
          (n) => named(n),
        ),
      "every stage's span at the receiver",
      30_000,
    );
    const server = named("POST /v1/alerts/:source") as ReceivedSpan;
    const ingest = named("ingest") as ReceivedSpan;
    const correlate = named("correlate") as ReceivedSpan;
    const playbook = named(/^playbook /) as ReceivedSpan;
    const call = named("crowdstrike.contain_host") as ReceivedSpan;
    // isolate-host has several steps (the lookup first): the containment's step span is the call's parent.
    const step = spansOf().find((s) => s.spanId === call.parentSpanId) as ReceivedSpan;
    assert.match(step.name, /^step /);
    const http = spansOf().find((s) => s.parentSpanId === call.spanId && /^POST /.test(s.name));
    assert.equal(server.parentSpanId, "", "the trace starts at the API's server span (an untrusted sender)");
    assert.equal(server.kind, 2, "a SERVER span");
    assert.equal(server.attributes["http.request.method"], "POST");
    assert.equal(server.attributes["http.route"], "/v1/alerts/:source");
    assert.equal(server.attributes["http.response.status_code"], 202);
    assert.equal(server.attributes["url.path"], "/v1/alerts/suricata");
    assert.equal(ingest.parentSpanId, server.spanId, "ingest runs under the request's server span");
    assert.equal(correlate.parentSpanId, ingest.spanId, "correlate continues the ingest span through Kafka");
    assert.equal(playbook.parentSpanId, correlate.spanId, "the playbook run continues the decision's trace");
    assert.equal(step.parentSpanId, playbook.spanId);
    assert.equal(call.parentSpanId, step.spanId);
    assert.ok(http, "the connector's HTTP request is a span of its own, under the call");
    assert.equal(http.attributes["http.response.status_code"], 202);
    assert.equal(
      String(contain?.headers["traceparent"]).split("-")[2],
      http.spanId,
      "the vendor request carries the HTTP span's context",
    );
    // Redis client spans: the correlator's state reads and writes under its span, the executor's lease and
    // idempotency scripts under the playbook run or its step; never a key or value in the query text.
    const redisUnder = (parent: ReceivedSpan) =>
      spansOf().filter((s) => s.parentSpanId === parent.spanId && s.attributes["db.system.name"] === "redis");
    // The batch's incident grouping is a child of its first alert's correlate span.
    const grouping = () => spansOf().filter((s) => s.parentSpanId === correlate.spanId && s.name === "group incidents");
    await eventually(
      () => grouping().some((g) => redisUnder(g).length > 0) && [playbook, step].some((p) => redisUnder(p).length > 0),
      "Redis spans under correlate and the playbook run",
      30_000,
    );
    const redisSpans = spansOf().filter((s) => s.attributes["db.system.name"] === "redis");
    for (const r of redisSpans) {
      assert.equal(r.kind, 3, `${r.name} is a CLIENT span`);
      assert.ok(r.attributes["db.operation.name"] && r.attributes["server.address"] && r.attributes["server.port"]);
      assert.doesNotMatch(String(r.attributes["db.query.text"]), /192\.168|\{|:/, "no key or value in the query");
    }
    assert.ok(
      redisSpans.some((r) => r.attributes["db.stored_procedure.name"] !== undefined),
      "Lua state scripts are named",
    );
    // Messaging semantic conventions: ingest sends to the normalized topic, correlate and the playbook run process
    // one message each, with its partition, offset, consumer group and hashed key.
    assert.equal(ingest.kind, 4, "ingest is the PRODUCER");
    assert.equal(ingest.attributes["messaging.system"], "kafka");
    assert.equal(ingest.attributes["messaging.operation.type"], "send");
    assert.match(String(ingest.attributes["messaging.destination.name"]), /alerts\.normalized$/);
    assert.equal(ingest.attributes["messaging.batch.message_count"], 1);
    for (const [span, topic, group] of [
      [correlate, /alerts\.normalized$/, /\.correlator$/],
      [playbook, /decisions$/, /\.executor$/],
    ] as const) {
      assert.equal(span.kind, 5, `${span.name} is a CONSUMER span`);
      assert.equal(span.attributes["messaging.system"], "kafka");
      assert.equal(span.attributes["messaging.operation.type"], "process");
      assert.match(String(span.attributes["messaging.destination.name"]), topic);
      assert.match(String(span.attributes["messaging.consumer.group.name"]), group);
      assert.match(String(span.attributes["messaging.destination.partition.id"]), /^\d+$/);
      assert.equal(typeof span.attributes["messaging.kafka.offset"], "number");
      assert.match(String(span.attributes["messaging.kafka.message.key"]), /^[0-9a-f]{16}$/, "the key, hashed");
    }
    assert.equal(server.service, "riposte-ingest");
    assert.equal(ingest.service, "riposte-ingest");
    assert.equal(correlate.service, "riposte-correlator");
    assert.equal(playbook.service, "riposte-executor");
    assert.equal(ingest.encoding, "json");
    assert.equal(correlate.encoding, "protobuf");
  });

  test("the same alert sent again: its duplicate decision's span links to the span that decided the original", async () => {
    const first = otlp.spans.find((s) => s.name === "correlate" && s.links.length === 0) as ReceivedSpan;
    const res = await h.post("suricata", JSON.stringify(ALERT));
    assert.equal(res.status, 202);
    const again = String(res.body["trace_id"]);
    assert.notEqual(again, first.traceId, "a new request, a new trace");
    await eventually(() => h.decisions.some((d) => d["outcome"] === "duplicate"), "the duplicate decision", 60_000);
    const dup = h.decisions.find((d) => d["outcome"] === "duplicate") as Record<string, unknown>;
    assert.deepEqual(dup["links"], [{ trace_id: first.traceId, span_id: first.spanId }]);
    await eventually(
      () => otlp.spans.some((s) => s.traceId === again && s.name === "correlate"),
      "the duplicate's correlate span",
      30_000,
    );
    const span = otlp.spans.find((s) => s.traceId === again && s.name === "correlate") as ReceivedSpan;
    assert.deepEqual(span.links, [{ traceId: first.traceId, spanId: first.spanId }]);
  });
});
