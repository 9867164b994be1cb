/** OTLP export as the OTEL_* variables configure it: HTTP/protobuf, HTTP/JSON, decoded by a local receiver. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOT_CONTEXT, context, trace } from "@opentelemetry/api";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { loadConfig } from "../services/shared/config.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import {
  contextFrom,
  headersFor,
  initTelemetry,
  inSpan,
  otlpTraceExporter,
  processAttributes,
  sendAttributes,
  tracesExported,
  type OtlpProtocol,
} from "../services/shared/telemetry.ts";
import { startOtlpReceiver } from "./support/otlp.ts";

// As `riposte run` with no OTEL_* settings: propagation only.
initTelemetry({ serviceName: "riposte-test" });

for (const protocol of ["http/protobuf", "http/json"] as const satisfies readonly OtlpProtocol[]) {
  test(`spans go out over OTLP ${protocol} to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, parent and child intact`, async () => {
    const receiver = await startOtlpReceiver();
    const config = loadConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol },
      CONNECTORS,
    );
    const exporter = otlpTraceExporter(config.otlp);
    assert.ok(exporter, "an endpoint configures an exporter");
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "riposte-test" }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer("riposte");
    const parent = tracer.startSpan("ingest", { attributes: { "riposte.source": "edr" } });
    const child = tracer.startSpan(
      "correlate",
      { attributes: { "riposte.rule.id": "r1" } },
      trace.setSpan(context.active(), parent),
    );
    child.end();
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();
    assert.equal(receiver.requests[0]?.path, "/v1/traces");
    assert.match(receiver.requests[0]?.contentType ?? "", protocol === "http/json" ? /json/ : /protobuf/);
    const byName = new Map(receiver.spans.map((s) => [s.name, s]));
    const [p, c] = [byName.get("ingest"), byName.get("correlate")];
    assert.ok(p && c, `both spans decoded (${protocol})`);
    assert.equal(c.traceId, p.traceId);
    assert.equal(c.parentSpanId, p.spanId, "child of ingest");
    assert.equal(p.parentSpanId, "");
    assert.equal(p.service, "riposte-test");
    assert.equal(c.attributes["riposte.rule.id"], "r1");
    assert.equal(p.traceId, parent.spanContext().traceId);
    await receiver.close();
  });
}

test("OTEL_* variables are validated at start: a bad protocol or sampler stops the process with the variable named", () => {
  assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "udp" }, CONNECTORS), /OTEL_EXPORTER_OTLP_PROTOCOL/);
  assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER: "sometimes" }, CONNECTORS), /OTEL_TRACES_SAMPLER/);
  assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: "2" }, CONNECTORS), /OTEL_TRACES_SAMPLER_ARG/);
  const c = loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }, CONNECTORS);
  assert.equal(c.otlp.tracesEndpoint, "http://collector:4318/v1/traces");
  assert.equal(otlpTraceExporter(loadConfig({}, CONNECTORS).otlp), undefined, "nothing configured, nothing exported");
});

test("nothing exported, nothing computed: messaging attributes are empty objects", () => {
  assert.equal(tracesExported(), false);
  assert.deepEqual(processAttributes("kafka", "g", { topic: "t", partition: 0, offset: "1", key: "user:alice" }), {});
  assert.deepEqual(sendAttributes("kafka", "t"), {});
});

test("nothing exported: spans record nothing, yet carry fresh ids that propagate sampled to the next hop", async () => {
  const parentHeaders = await inSpan("ingest", ROOT_CONTEXT, { "riposte.source": "edr" }, async (span) => {
    assert.equal(span.isRecording(), false, "no span object that keeps attributes");
    assert.match(span.spanContext().traceId, /^(?!0{32})[0-9a-f]{32}$/);
    return headersFor(span);
  });
  assert.match(parentHeaders["traceparent"] ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const [, traceId, spanId] = (parentHeaders["traceparent"] ?? "").split("-");
  await inSpan("correlate", contextFrom(parentHeaders), {}, async (span) => {
    assert.equal(span.spanContext().traceId, traceId, "the next hop continues the trace");
    assert.notEqual(span.spanContext().spanId, spanId);
  });
});
