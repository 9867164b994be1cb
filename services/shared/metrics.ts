/** In-process counters, served by the API at /v1/stats. Names live here. */
export type MetricName =
  | "ingest_normalized_total"
  | "ingest_dead_lettered_total"
  | "correlator_events_total"
  | "correlator_decisions_total"
  | "correlator_duplicates_total"
  | "correlator_suppressed_total"
  | "correlator_no_match_total"
  | "correlator_dead_lettered_total"
  | "executor_decisions_total"
  | "executor_actions_total"
  | "executor_actions_failed_total"
  | "executor_replays_skipped_total"
  | "executor_dead_lettered_total";

export class Metrics {
  private readonly counters = new Map<MetricName, number>();

  inc(name: MetricName, by = 1): void {
    if (by !== 0) this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  get(name: MetricName): number {
    return this.counters.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counters].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
