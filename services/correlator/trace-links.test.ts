/**
 * Span links of the correlator's spans, with spans exported (in-memory exporter): a correlation's decision span
 * links to the span that decided each alert it stands on, each in its own trace, though they came in other
 * batches; each event's span continues its own message's trace and carries the messaging attributes.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { MemoryBus, type InMessage } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { ATTR } from "../shared/semconv.ts";
import { MemoryState } from "../shared/state/index.ts";
import { hashedKey, headersFor, initTelemetry, inSpan, shutdownTelemetry } from "../shared/telemetry.ts";
import { Correlator, RuleSet, loadLists, loadRules } from "./index.ts";
import { okta } from "./testing.ts";

const exporter = new InMemorySpanExporter();
initTelemetry({ serviceName: "riposte-test", exporter });
after(() => shutdownTelemetry());

test("a correlation's decision span links to each contributing alert's span, across batches", async () => {
  const lists = await loadLists("rules");
  const topics = topicNames("links");
  const bus = new MemoryBus();
  await bus.ensureTopics([topics.decisions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const c = new Correlator({
    bus,
    state: new MemoryState(),
    topics,
    rules: new RuleSet(await loadRules("rules", lists), lists),
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "links",
    consumerGroup: "links.correlator",
    dedupWindowMs: 86_400_000,
    now: () => 1,
  });
  const user = "alice@example.com";
  const events = [0, 1, 2, 3, 4].map((minute) => okta({ user, ok: false, minute }));
  events.push(okta({ user, ok: true, minute: 6 }));
  // Each alert arrives in a trace of its own (its ingest span), one batch per alert.
  const ingestTraces: string[] = [];
  for (const [i, e] of events.entries()) {
    const headers = await inSpan("ingest", ROOT_CONTEXT, {}, async (span) => {
      ingestTraces.push(span.spanContext().traceId);
      return headersFor(span);
    });
    const m: InMessage = {
      topic: topics.normalized,
      partition: 0,
      offset: String(i),
      key: e.riposte.entity_key,
      value: Buffer.from(JSON.stringify(e)),
      headers,
      timestamp: Date.now(),
    };
    await c.handle([m]);
  }
  const correlate = exporter.getFinishedSpans().filter((s) => s.name === "correlate");
  assert.equal(correlate.length, 6);
  assert.deepEqual(
    correlate.map((s) => s.spanContext().traceId),
    ingestTraces,
    "each event's span continues its own message's trace",
  );
  const deciding = correlate[5];
  assert.ok(deciding);
  assert.deepEqual(
    deciding.links.map((l) => [l.context.traceId, l.context.spanId, l.attributes?.[ATTR.linkKind]]),
    correlate.slice(0, 5).map((s) => [s.spanContext().traceId, s.spanContext().spanId, "contributing"]),
    "one link per failure, to the span that decided it",
  );
  for (const s of correlate.slice(0, 5)) assert.deepEqual(s.links, [], "the failures stand alone");
  // Messaging semantic conventions on the consumer span; the key (an entity name) only as a hash.
  const key = events[5]?.riposte.entity_key as string;
  assert.deepEqual(
    Object.fromEntries(Object.entries(deciding.attributes).filter(([k]) => k.startsWith("messaging."))),
    {
      [ATTR.msgSystem]: "riposte.memory",
      [ATTR.msgOperationType]: "process",
      [ATTR.msgOperationName]: "process",
      [ATTR.msgDestination]: topics.normalized,
      [ATTR.msgPartition]: "0",
      [ATTR.msgKafkaOffset]: 5,
      [ATTR.msgConsumerGroup]: "links.correlator",
      [ATTR.msgKafkaKey]: hashedKey(key),
    },
  );
  assert.doesNotMatch(String(deciding.attributes[ATTR.msgKafkaKey]), /alice/);
  await bus.close();
});
