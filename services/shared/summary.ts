/**
 * The info-level heartbeat: every interval, one log line with what each counter did since the last one (only the
 * counters that moved), instead of a line per event. Silent while nothing happens.
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** The counters that moved between two snapshots, as `{name: delta}`. */
export function countersMoved(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) moved[k.replace(/_total$/, "")] = d;
  }
  return moved;
}

export function startSummary(metrics: Metrics, log: Logger, intervalMs = 10_000): { stop(): void; flush(): void } {
  let last = metrics.snapshot();
  let lastAt = Date.now();
  const flush = () => {
    const now = metrics.snapshot();
    const moved = countersMoved(last, now);
    if (Object.keys(moved).length > 0) {
      log.info({ interval_s: Math.round((Date.now() - lastAt) / 100) / 10, ...moved }, "summary");
    }
    last = now;
    lastAt = Date.now();
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), flush };
}
