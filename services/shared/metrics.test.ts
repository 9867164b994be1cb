/**
 * Counters and labelled series are summed here and read by the SDK when it collects: Prometheus and an OTLP reader
 * see the same cumulative sums, one series per label set whatever the order of its keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { Metrics } from "./metrics.ts";

test("an OTLP reader collects the counters and series as cumulative sums, one per label set", async () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const m = new Metrics({ otlpReader: reader });
  m.inc("correlator_events_total", 3);
  m.inc("correlator_events_total", 0);
  m.count("riposte_decisions_total", { outcome: "respond", playbook: "p" }, 2);
  m.count("riposte_decisions_total", { playbook: "p", outcome: "respond" });
  m.count("riposte_decisions_total", { outcome: "no_match", playbook: "" });
  await reader.forceFlush();
  const sums = new Map<string, number>();
  for (const rm of exporter.getMetrics())
    for (const sm of rm.scopeMetrics)
      for (const metric of sm.metrics)
        for (const p of metric.dataPoints)
          sums.set(`${metric.descriptor.name} ${JSON.stringify(p.attributes)}`, p.value as number);
  assert.equal(sums.get("riposte_correlator_events_total {}"), 3);
  assert.equal(sums.get('riposte_decisions_total {"outcome":"respond","playbook":"p"}'), 3);
  assert.equal(sums.get('riposte_decisions_total {"outcome":"no_match","playbook":""}'), 1);
  assert.equal(m.get("correlator_events_total"), 3);
  const text = await m.prometheusText();
  assert.match(text, /^riposte_decisions_total\{outcome="respond",playbook="p"\} 3$/m);
  await m.close();
});
