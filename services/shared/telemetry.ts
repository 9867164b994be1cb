/**
 * Tracing: one trace from the raw alert to the vendor API call. W3C trace context travels in Kafka headers
 * (`traceparent`), and every hop continues the trace of the message that caused it.
 * Attribute names live in semconv.ts (re-exported here).
 */
import {
  ROOT_CONTEXT,
  context,
  isSpanContextValid,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
} from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPTraceExporterProto } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as OTLPTraceExporterGrpc } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OTLPMetricExporterProto } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as OTLPMetricExporterGrpc } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { createHash, randomFillSync } from "node:crypto";
import { subscribeRedisSpans, unsubscribeRedisSpans } from "./redis-spans.ts";
import { ATTR } from "./semconv.ts";

export { SpanKind };
export { ATTR };
export type { Span, Context, Link };

let sdk: NodeSDK | undefined;
let exporting = false;

/** Whether spans leave the process (an OTLP endpoint or a test exporter is configured). */
export function tracesExported(): boolean {
  return exporting;
}

/** OTLP settings from the standard OTEL_* variables (validated by config). */
export interface OtlpSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the base URL; `/v1/traces` and `/v1/metrics` are appended for HTTP. */
  readonly endpoint?: string | undefined;
  /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the full traces URL, used as is. */
  readonly tracesEndpoint?: string | undefined;
  /** OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: the full metrics URL, used as is. */
  readonly metricsEndpoint?: string | undefined;
  /** OTEL_EXPORTER_OTLP_PROTOCOL (or its _TRACES_/_METRICS_ form): http/protobuf (the default), http/json, grpc. */
  readonly protocol?: OtlpProtocol | undefined;
  readonly tracesProtocol?: OtlpProtocol | undefined;
  readonly metricsProtocol?: OtlpProtocol | undefined;
  /** OTEL_METRIC_EXPORT_INTERVAL in ms (default 60 s). */
  readonly metricsIntervalMs?: number | undefined;
}
export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

function signalUrl(s: OtlpSettings, signal: "traces" | "metrics", protocol: OtlpProtocol): string | undefined {
  const own = signal === "traces" ? s.tracesEndpoint : s.metricsEndpoint;
  if (own) return own;
  if (!s.endpoint) return undefined;
  // gRPC takes the endpoint itself; HTTP appends the signal's path (the OTLP exporter specification).
  return protocol === "grpc" ? s.endpoint : `${s.endpoint.replace(/\/$/, "")}/v1/${signal}`;
}

/** The OTLP span exporter the settings ask for, or undefined when no endpoint is configured. */
export function otlpTraceExporter(s: OtlpSettings): SpanExporter | undefined {
  const protocol = s.tracesProtocol ?? s.protocol ?? "http/protobuf";
  const url = signalUrl(s, "traces", protocol);
  if (!url) return undefined;
  if (protocol === "http/json") return new OTLPTraceExporter({ url });
  if (protocol === "grpc") return new OTLPTraceExporterGrpc({ url });
  return new OTLPTraceExporterProto({ url });
}

/** A periodic OTLP metric reader for the settings, or undefined when no endpoint is configured. */
export function otlpMetricReader(s: OtlpSettings): PeriodicExportingMetricReader | undefined {
  const protocol = s.metricsProtocol ?? s.protocol ?? "http/protobuf";
  const url = signalUrl(s, "metrics", protocol);
  if (!url) return undefined;
  const exporter =
    protocol === "http/json"
      ? new OTLPMetricExporter({ url })
      : protocol === "grpc"
        ? new OTLPMetricExporterGrpc({ url })
        : new OTLPMetricExporterProto({ url });
  return new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: s.metricsIntervalMs ?? 60_000 });
}

/**
 * Starts the tracer provider once per process. Spans are exported over OTLP when the OTEL_* settings name an
 * endpoint (HTTP/protobuf, HTTP/JSON or gRPC), to `exporter` when one is given (tests), and otherwise only
 * propagated. Sampling follows OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (the SDK reads them; config
 * validates them at start).
 */
export function initTelemetry(opts: {
  serviceName: string;
  /** Shorthand for `otlp: {endpoint}`. */
  otlpEndpoint?: string | undefined;
  otlp?: OtlpSettings;
  exporter?: SpanExporter;
}): void {
  if (sdk) return;
  const spanProcessors: SpanProcessor[] = [];
  const otlp = otlpTraceExporter({ ...opts.otlp, endpoint: opts.otlp?.endpoint ?? opts.otlpEndpoint });
  if (otlp) spanProcessors.push(new BatchSpanProcessor(otlp));
  if (opts.exporter) spanProcessors.push(new SimpleSpanProcessor(opts.exporter));
  // With no processor the SDK registers no tracer provider and trace ids stay zero; ids must propagate regardless.
  exporting = spanProcessors.length > 0;
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());
  sdk = new NodeSDK({
    serviceName: opts.serviceName,
    spanProcessors,
    instrumentations: [],
    resourceDetectors: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // Client spans of libraries that publish tracing channels: subscribed only when spans leave the process.
  if (exporting) subscribeRedisSpans();
}

export async function shutdownTelemetry(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  exporting = false;
  unsubscribeRedisSpans();
  await s?.shutdown();
}

const tracer = () => trace.getTracer("riposte");

/** The context carried by a message's headers (or the active one when they carry none). */
export function contextFrom(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(context.active(), headers);
}

/** Headers carrying the given span's context. */
export function headersFor(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier;
}

/** Trace id of a span, for audit records. */
export function traceIdOf(span: Span): string {
  return span.spanContext().traceId;
}

const ids = Buffer.alloc(24 * 256);
let idsAt = ids.length;
/** `bytes` random bytes as hex, from a buffer refilled every 256 spans. */
function randomHex(bytes: number): string {
  if (idsAt + bytes > ids.length) {
    randomFillSync(ids);
    idsAt = 0;
  }
  const hex = ids.toString("hex", idsAt, idsAt + bytes);
  idsAt += bytes;
  return hex;
}

/**
 * A span nothing records, for processes that export nothing: only ids, so that the trace id still reaches the
 * answer, the audit record and the next hop (sampled, as the SDK would have made it, so that a downstream process
 * that does export keeps the trace) — no attributes, events or links are kept per event.
 */
function propagatedOnly(parent: Context): Span {
  const p = trace.getSpanContext(parent);
  const valid = p !== undefined && isSpanContextValid(p);
  return trace.wrapSpanContext({
    traceId: valid ? p.traceId : randomHex(16),
    spanId: randomHex(8),
    traceFlags: valid ? p.traceFlags : TraceFlags.SAMPLED,
    ...(valid && p.traceState ? { traceState: p.traceState } : {}),
  });
}

/** A span child of `parent`: recorded when spans are exported, else ids only (propagatedOnly). */
function startSpan(name: string, parent: Context, options: SpanOptions): Span {
  return exporting ? tracer().startSpan(name, options, parent) : propagatedOnly(parent);
}

/**
 * Runs `fn` in a new span, child of `parent` (linked to `links`); records an exception and error status when it
 * throws.
 */
export function inSpan<T>(
  name: string,
  parent: Context,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
  links?: readonly Link[],
): Promise<T> {
  if (exporting) return recorded(name, parent, attributes, fn, kind, links);
  // A span nothing records has nothing to end or mark: fn runs in its context without an async frame around it.
  const span = propagatedOnly(parent);
  try {
    return context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    return rejected(e);
  }
}

/** A throw before fn's first await, as an async function would give it: a rejected promise. */
async function rejected(e: unknown): Promise<never> {
  throw e;
}

/** inSpan for a span the SDK records: ended, and marked when fn throws. */
async function recorded<T>(
  name: string,
  parent: Context,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind,
  links: readonly Link[] | undefined,
): Promise<T> {
  const span = startSpan(name, parent, { kind, attributes, ...(links?.length ? { links: [...links] } : {}) });
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e instanceof Error ? e : String(e));
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw e;
  } finally {
    span.end();
  }
}

/**
 * A span that already happened (an approval wait: from the request to the verdict), child of `parent`, ended at
 * once with the given start and end times (epoch ms). Returns the context holding it, so that the work that follows
 * (the resumed run) is its child.
 */
export function pastSpan(
  name: string,
  parent: Context,
  attributes: Attributes,
  startMs: number,
  endMs: number,
): Context {
  const span = startSpan(name, parent, { attributes, startTime: startMs });
  span.end(Math.max(startMs, endMs));
  return trace.setSpan(parent, span);
}

/** Runs `fn` with `ctx` as the active context (the parent of the spans it starts). */
export function inContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * Trace context a sender put on its request or message: continued (as the parent) only when the sender is
 * trusted; otherwise a new trace starts and the sender's span, if valid, is kept as a link.
 */
export function inboundTrace(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  trusted: boolean,
): { parent: Context; links: Link[] } {
  const carrier: Record<string, string> = {};
  for (const name of ["traceparent", "tracestate", "baggage"]) {
    const v = headers[name];
    if (typeof v === "string") carrier[name] = v;
  }
  const extracted = propagation.extract(ROOT_CONTEXT, carrier);
  if (trusted) return { parent: extracted, links: [] };
  const sc = trace.getSpanContext(extracted);
  return {
    parent: ROOT_CONTEXT,
    links: sc && isSpanContextValid(sc) ? [{ context: sc, attributes: { [ATTR.linkKind]: "sender" } }] : [],
  };
}

/** Headers carrying the active context (the current span, if any). */
export function activeHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** What a consumed message's span says about it (the messaging semantic conventions). */
export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
}

/** `messaging.system`: the bus the message travelled on (Kafka, or the embedded in-process bus). */
const messagingSystem = (bus: "kafka" | "memory") => (bus === "kafka" ? "kafka" : "riposte.memory");

/**
 * Attributes of a span that processes one consumed message: system, topic, partition, offset, consumer group and
 * the key as a hash (keys are entity names: a user's address, a host). Empty when spans are not exported, so that
 * nothing is computed per message for nobody.
 */
export function processAttributes(bus: "kafka" | "memory", group: string | undefined, m: ConsumedMessage): Attributes {
  if (!exporting) return {};
  return {
    [ATTR.msgSystem]: messagingSystem(bus),
    [ATTR.msgOperationType]: "process",
    [ATTR.msgOperationName]: "process",
    [ATTR.msgDestination]: m.topic,
    [ATTR.msgPartition]: String(m.partition),
    [ATTR.msgKafkaOffset]: Number(m.offset),
    ...(group ? { [ATTR.msgConsumerGroup]: group } : {}),
    ...(m.key === null ? {} : { [ATTR.msgKafkaKey]: hashedKey(m.key) }),
  };
}

/** Attributes of a span that sends a batch of messages to one topic (the count is set when known). */
export function sendAttributes(bus: "kafka" | "memory", topic: string): Attributes {
  if (!exporting) return {};
  return {
    [ATTR.msgSystem]: messagingSystem(bus),
    [ATTR.msgOperationType]: "send",
    [ATTR.msgOperationName]: "send",
    [ATTR.msgDestination]: topic,
  };
}

/** A message key as it may appear on a span: the first 16 hex digits of its SHA-256, the same on every hop. */
export function hashedKey(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}
