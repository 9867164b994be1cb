/**
 * Redis client spans from ioredis' tracing channels, on the real Redis: CLIENT spans under the caller's span,
 * database semantic-convention attributes, no key or value in the query text, errors marked; nothing without an
 * active span, and nothing at all once telemetry is shut down.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { RedisState } from "../services/shared/state/index.ts";
import { ATTR } from "../services/shared/semconv.ts";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { initTelemetry, inSpan, shutdownTelemetry, tracesExported } from "../services/shared/telemetry.ts";
import { requireRedis, uniquePrefix } from "./support/env.ts";

const exporter = new InMemorySpanExporter();
initTelemetry({ serviceName: "riposte-test", exporter });
after(() => shutdownTelemetry());

const childrenOf = (parent: ReadableSpan) =>
  exporter
    .getFinishedSpans()
    .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId && s.kind === SpanKind.CLIENT);

test("a state operation is a CLIENT span under the caller's span, named by its Lua script, with no value in it", async () => {
  assert.ok(tracesExported());
  const url = await requireRedis();
  const prefix = uniquePrefix("redis-spans");
  const state = new RedisState(url);
  const raw = new Redis(url);
  try {
    await state.ready();
    const key = `${prefix}:{user:alice@example.com}`;
    await inSpan("correlate", ROOT_CONTEXT, {}, async () => {
      await state.seen(key, 60_000);
      await state.claim(`${key}:lease`, "owner-secret-7", 60_000);
    });
    const parent = exporter.getFinishedSpans().find((s) => s.name === "correlate") as ReadableSpan;
    const spans = childrenOf(parent);
    const seen = spans.find((s) => s.attributes[ATTR.dbProcedure] === "seen" && s.status.code !== SpanStatusCode.ERROR);
    const claim = spans.find(
      (s) => s.attributes[ATTR.dbProcedure] === "claim" && s.status.code !== SpanStatusCode.ERROR,
    );
    assert.ok(seen && claim, `script spans under the caller: ${spans.map((s) => s.name).join(", ")}`);
    assert.match(seen.name, /^EVAL(SHA)? seen$/);
    assert.equal(seen.spanContext().traceId, parent.spanContext().traceId);
    assert.equal(seen.attributes[ATTR.dbSystem], "redis");
    assert.match(String(seen.attributes[ATTR.dbOperation]), /^EVAL(SHA)?$/);
    assert.equal(seen.attributes[ATTR.dbNamespace], "0");
    assert.equal(seen.attributes[ATTR.serverPort], Number(new URL(url).port || 6379));
    assert.ok(seen.attributes[ATTR.serverAddress]);
    assert.match(String(seen.attributes[ATTR.dbQuery]), /^EVAL(SHA)? [0-9a-f]{40} 1 \? \?$/);
    for (const s of spans) {
      const text = JSON.stringify(s.attributes);
      assert.doesNotMatch(text, /alice|owner-secret|redis\.call/, `no key, value or script body in ${s.name}`);
    }
    exporter.reset();
    await raw.set(`${prefix}:plain`, "a-value");
    await inSpan("api", ROOT_CONTEXT, {}, async () => {
      await assert.rejects(raw.hget(`${prefix}:plain`, "f"), /WRONGTYPE/);
      await raw.get(`${prefix}:plain`);
    });
    const api = exporter.getFinishedSpans().find((s) => s.name === "api") as ReadableSpan;
    const [hget, get] = ["HGET", "GET"].map((n) => childrenOf(api).find((s) => s.name === n));
    assert.ok(hget && get, "plain commands too");
    assert.equal(hget.status.code, SpanStatusCode.ERROR);
    assert.equal(hget.attributes[ATTR.errorType], "WRONGTYPE");
    assert.equal(hget.attributes[ATTR.dbStatus], "WRONGTYPE");
    assert.equal(hget.attributes[ATTR.dbQuery], "HGET ? ?");
    assert.equal(get.attributes[ATTR.dbQuery], "GET ?");
    assert.equal(get.status.code, SpanStatusCode.UNSET);
    assert.ok(
      !exporter.getFinishedSpans().some((s) => s.name === "SET"),
      "a command sent with no span active starts no trace",
    );
    exporter.reset();
    const tx = await inSpan("tx", ROOT_CONTEXT, {}, async () =>
      raw.multi().incr(`${prefix}:n`).incr(`${prefix}:n`).exec(),
    );
    assert.equal(tx?.length, 2);
    const batch = exporter.getFinishedSpans().find((s) => s.attributes[ATTR.dbBatchSize] !== undefined);
    assert.equal(batch?.name, "MULTI", "a transaction is one batch span besides its commands'");
    assert.equal(batch.attributes[ATTR.dbBatchSize], 2);
    assert.equal(batch.attributes[ATTR.dbOperation], "MULTI");
  } finally {
    await raw.del(`${prefix}:plain`, `${prefix}:n`, `${prefix}:{user:alice@example.com}`);
    raw.disconnect();
    await state.close();
  }
});

test("a connection is a span of its own", async () => {
  const url = await requireRedis();
  exporter.reset();
  const raw = new Redis(url);
  try {
    await raw.ping();
    const connect = exporter.getFinishedSpans().find((s) => s.name === "redis connect");
    assert.ok(connect, "the connect span");
    assert.equal(connect.kind, SpanKind.CLIENT);
    assert.equal(connect.attributes[ATTR.dbSystem], "redis");
  } finally {
    raw.disconnect();
  }
});
