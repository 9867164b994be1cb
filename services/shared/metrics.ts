/**
 * Metrics: counters and histograms through OpenTelemetry, served as Prometheus text at `GET /metrics` and exported
 * over OTLP when an endpoint is configured. The plain counters also back `/v1/stats`. Names live in semconv.ts
 * (re-exported here) and nowhere else: a dashboard or alert rule that queries a metric queries one of these.
 */
import { type Attributes, type Counter, type Histogram } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider, type MetricReader } from "@opentelemetry/sdk-metrics";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  GAUGES,
  HISTOGRAMS,
  SERIES,
  type GaugeName,
  type HistogramName,
  type MetricName,
  type SeriesName,
} from "./semconv.ts";

export { COUNTERS, GAUGES, HISTOGRAMS, LABEL, SERIES } from "./semconv.ts";
export type { GaugeName, HistogramName, MetricName, SeriesName } from "./semconv.ts";

export interface MetricsOptions {
  readonly serviceName?: string;
  /** An OTLP metrics exporter to push to as well (built by telemetry from the OTEL_* variables). */
  readonly otlpReader?: MetricReader;
}

export class Metrics {
  private readonly counters = new Map<MetricName, number>();
  private readonly prometheus: PrometheusExporter;
  private readonly serializer = new PrometheusSerializer("", false, undefined, true, true);
  private readonly provider: MeterProvider;
  private readonly otelCounters = new Map<string, Counter>();
  private readonly histograms = new Map<HistogramName, Histogram>();
  private readonly gauges = new Map<string, Map<string, { attrs: Attributes; value: number }>>();
  private readonly refreshers: Array<() => Promise<void>> = [];

  constructor(opts: MetricsOptions = {}) {
    this.prometheus = new PrometheusExporter({
      preventServerStart: true,
      withoutScopeInfo: true,
      withoutTargetInfo: true,
    });
    const readers: MetricReader[] = [this.prometheus];
    if (opts.otlpReader) readers.push(opts.otlpReader);
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ "service.name": opts.serviceName ?? "riposte" }),
      readers,
    });
    const meter = this.provider.getMeter("riposte");
    for (const [name, help] of Object.entries(GAUGES)) {
      const series = new Map<string, { attrs: Attributes; value: number }>();
      this.gauges.set(name, series);
      meter
        .createObservableGauge(name, { description: help })
        .addCallback((result) => series.forEach((s) => result.observe(s.value, s.attrs)));
    }
  }

  /** Adds to a plain counter (shown on /v1/stats and as `riposte_<name>` on /metrics). */
  inc(name: MetricName, by = 1): void {
    if (by === 0) return;
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
    this.counter(`riposte_${name}`, "Riposte counter (also on /v1/stats)").add(by);
  }

  /** Adds to a labelled series. Labels are low-cardinality names (rule ids, connectors, formats), never entities. */
  count(name: SeriesName, labels: Attributes, by = 1): void {
    if (by > 0) this.counter(name, SERIES[name]).add(by, labels);
  }

  /** Records a value, in seconds, into a histogram. Negative values (clock skew) are recorded as 0. */
  observe(name: HistogramName, seconds: number, labels: Attributes): void {
    if (!Number.isFinite(seconds)) return;
    let h = this.histograms.get(name);
    if (!h) {
      h = this.provider.getMeter("riposte").createHistogram(name, {
        description: HISTOGRAMS[name].help,
        unit: "s",
        advice: { explicitBucketBoundaries: [...HISTOGRAMS[name].buckets] },
      });
      this.histograms.set(name, h);
    }
    h.record(Math.max(0, seconds), labels);
  }

  /** Sets a gauge's value for one label set (consumer lag per group/topic/partition). */
  gauge(name: GaugeName, labels: Attributes, value: number): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    this.gauges.get(name)?.set(key, { attrs: labels, value });
  }

  get(name: MetricName): number {
    return this.counters.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counters].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /**
   * Runs `refresh` before each scrape (consumer lag is sampled then, so /metrics is current); a refresh that fails
   * or takes over 2 s leaves the last values.
   */
  onScrape(refresh: () => Promise<void>): void {
    this.refreshers.push(refresh);
  }

  /** The Prometheus text exposition of every metric. */
  async prometheusText(): Promise<string> {
    await Promise.all(
      this.refreshers.map((r) =>
        Promise.race([r().catch(() => undefined), new Promise<void>((ok) => setTimeout(ok, 2_000).unref())]),
      ),
    );
    const { resourceMetrics } = await this.prometheus.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  async close(): Promise<void> {
    await this.provider.shutdown().catch(() => undefined);
  }

  private counter(name: string, help: string): Counter {
    let c = this.otelCounters.get(name);
    if (!c) {
      c = this.provider.getMeter("riposte").createCounter(name, { description: help });
      this.otelCounters.set(name, c);
    }
    return c;
  }
}
