/**
 * An approval wait is a span of the response's trace: it starts when the gated step asks, ends at the verdict, names
 * the approver, is a child of the run that asked, and is the parent of the resumed step, whose vendor request carries
 * the same trace id (spans recorded in memory; the executor on the embedded bus and state, the Falcon fake over HTTP).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { Decision } from "../schemas/index.ts";
import { PlaybookFile, targetKey } from "../schemas/index.ts";
import { ApprovalStore } from "../services/executor/approvals.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { Executor } from "../services/executor/executor.ts";
import { MemoryBus, type InMessage } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { ATTR } from "../services/shared/semconv.ts";
import { MemoryState } from "../services/shared/state/index.ts";
import { contextFrom, headersFor, initTelemetry, inSpan, shutdownTelemetry } from "../services/shared/telemetry.ts";
import { startFalconFake, FALCON_CLIENT_ID, FALCON_CLIENT_SECRET } from "./fakes/crowdstrike.ts";

const exporter = new InMemorySpanExporter();
initTelemetry({ serviceName: "riposte-test", exporter });
after(() => shutdownTelemetry());

const topics = topicNames("apprtrace");
const playbook = PlaybookFile.parse({
  id: "isolate-host",
  version: 1,
  name: "Isolate with approval",
  steps: [
    {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      params: { host: "{{target.value}}" },
      timeout: "2s",
      approval: { roles: ["approver"], expires: "1h", on_expiry: "deny" },
    },
  ],
});

const decision: Decision = {
  id: "d-trace",
  outcome: "respond",
  time: Date.now(),
  alert: {
    uid: "a-trace",
    fingerprint: "f",
    entity_key: "host:web-01",
    class_uid: 2004,
    title: "t",
    source: "s",
    severity_id: 4,
    time: 1,
  },
  rule: { id: "edr-high", version: 1, hash: "h", name: "EDR high" },
  playbook: "isolate-host",
  target: { type: "host", value: "web-01" },
  params: {},
  approval: "none",
};

const msg = (topic: string, key: string, value: unknown, headers: Record<string, string>): InMessage => ({
  topic,
  partition: 0,
  offset: "0",
  key,
  value: Buffer.from(JSON.stringify(value)),
  headers,
  timestamp: 0,
});

const byName = (name: string, status?: string): ReadableSpan => {
  const spans = exporter.getFinishedSpans();
  const s = spans.find((x) => x.name === name && (status === undefined || x.attributes[ATTR.actionStatus] === status));
  assert.ok(s, `a span "${name}" ${status ?? ""} among ${spans.map((x) => x.name).join(", ")}`);
  return s;
};
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const ms = (t: ReadableSpan["startTime"]) => t[0] * 1000 + t[1] / 1e6;

test("the approval wait is a span from the request to the verdict, naming the approver, between the ask and the vendor call", async () => {
  const edr = await startFalconFake({ "web-01": "0123456789abcdef0123456789abcdef" });
  const bus = new MemoryBus();
  const state = new MemoryState();
  await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const executor = new Executor({
    bus,
    state,
    topics,
    playbooks: new Map([[playbook.id, playbook]]),
    connectors: CONNECTORS,
    connectorConfig: {
      crowdstrike: {
        url: edr.url,
        credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
        dryRun: false,
      },
    },
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "apprtrace",
    approvalGraceMs: 0,
  });
  try {
    // The decision arrives with the correlator's trace context, as it does on the bus.
    const traceId = await inSpan("decision", contextFrom({}), {}, async (span) => {
      await executor.handle([msg(topics.decisions, targetKey(decision.target!), decision, headersFor(span))]);
      return span.spanContext().traceId;
    });
    const store = new ApprovalStore({ state, prefix: "apprtrace" });
    const [pending] = await store.pending();
    assert.ok(pending, "a pending approval");
    const d = await store.decide(pending.id, { verdict: "approved", by: "alice" }, "approver");
    assert.ok(d.ok);
    await executor.handleApprovals([msg(topics.approvals, pending.id, d.verdict, {})]);
    assert.equal(edr.actions().length, 1, "one contain call after the approval");

    const ask = byName("step contain", "awaiting_approval");
    const wait = byName("approval contain");
    const step = byName("step contain", "succeeded");
    for (const s of [ask, wait, step])
      assert.equal(s.spanContext().traceId, traceId, `${s.name} in the decision's trace`);
    assert.equal(parentOf(wait), ask.spanContext().spanId, "the wait is a child of the step that asked");
    assert.equal(parentOf(step), wait.spanContext().spanId, "the resumed step is a child of the wait");
    assert.equal(wait.attributes[ATTR.approvalBy], "alice");
    assert.equal(wait.attributes[ATTR.approvalVerdict], "approved");
    assert.equal(wait.attributes[ATTR.approvalId], pending.id);
    assert.ok(Math.abs(ms(wait.startTime) - pending.requested_at) < 2, "starts when the approval was requested");
    assert.ok(Math.abs(ms(wait.endTime) - d.verdict.at) < 2, "ends at the verdict");
    const sent = edr.actions()[0]?.headers["traceparent"];
    assert.match(String(sent), new RegExp(`^00-${traceId}-`), "the vendor request carries the trace");
  } finally {
    await executor.stop();
    await bus.close();
    await edr.close();
  }
});
