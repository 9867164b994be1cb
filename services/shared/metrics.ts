/**
 * Metrics: counters and histograms through OpenTelemetry, served as Prometheus text at `GET /metrics` and exported
 * over OTLP when an endpoint is configured. The plain counters also back `/v1/stats`. Names live in semconv.ts
 * (re-exported here) and nowhere else: a dashboard or alert rule that queries a metric queries one of these.
 */
import { type Attributes, type Histogram, type ObservableResult } from "@opentelemetry/api";
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
  /** Labelled series: name → label set (sorted) → its sum; and by the label keys in the order a caller gave them. */
  private readonly series = new Map<SeriesName, Map<string, { attrs: Attributes; value: number }>>();
  private readonly seriesByKey = new Map<string, { attrs: Attributes; value: number }>();
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
    if (!(by > 0)) return;
    const before = this.counters.get(name);
    this.counters.set(name, (before ?? 0) + by);
    if (before === undefined)
      this.observed(`riposte_${name}`, "Riposte counter (also on /v1/stats)", (result) => {
        result.observe(this.counters.get(name) ?? 0);
      });
  }

  /**
   * Adds to a labelled series. Labels are low-cardinality names (rule ids, connectors, formats), never entities.
   * The sums are kept here and read by the SDK when it collects: a call costs a map lookup, not the SDK's sorting
   * and hashing of the labels (seen at about 5 % of the executor's CPU on the block path).
   */
  count(name: SeriesName, labels: Attributes, by = 1): void {
    if (!(by > 0)) return;
    let key: string = name;
    for (const k in labels) key += `\u0000${k}\u0001${String(labels[k])}`;
    const s = this.seriesByKey.get(key) ?? this.newSeries(name, labels, key);
    s.value += by;
  }

  /** The series of `labels` (in any key order: one series per label set), registered on first use. */
  private newSeries(name: SeriesName, labels: Attributes, key: string): { attrs: Attributes; value: number } {
    let sums = this.series.get(name);
    if (!sums) {
      const all = new Map<string, { attrs: Attributes; value: number }>();
      sums = all;
      this.series.set(name, all);
      this.observed(name, SERIES[name], (result) => all.forEach((x) => result.observe(x.value, x.attrs)));
    }
    const canonical = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let s = sums.get(canonical);
    if (!s) {
      s = { attrs: { ...labels }, value: 0 };
      sums.set(canonical, s);
    }
    this.seriesByKey.set(key, s);
    return s;
  }

  private observed(name: string, help: string, read: (result: ObservableResult) => void): void {
    this.provider.getMeter("riposte").createObservableCounter(name, { description: help }).addCallback(read);
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
}
