/**
 * Consumer lag: for each consuming group and topic, the messages not yet committed per partition, sampled on an
 * interval into the `riposte_consumer_lag_messages` gauge. One offsets request per topic and group per interval,
 * whatever the traffic.
 */
import type { Bus } from "./bus/index.ts";
import type { Logger } from "./log.ts";
import { LABEL, type Metrics } from "./metrics.ts";

export interface LagSource {
  readonly groupId: string;
  readonly topic: string;
}

/** Samples lag once: high watermark minus the committed offset (the low watermark when nothing is committed). */
export async function sampleLag(bus: Bus, metrics: Metrics, sources: readonly LagSource[]): Promise<void> {
  for (const { groupId, topic } of sources) {
    const [ends, committed] = await Promise.all([bus.offsets(topic), bus.committedOffsets(groupId, topic)]);
    for (const [partition, { low, high }] of ends) {
      const at = committed.get(partition);
      const from = at === undefined || BigInt(at) < BigInt(low) ? BigInt(low) : BigInt(at);
      const lag = BigInt(high) > from ? Number(BigInt(high) - from) : 0;
      metrics.gauge(
        "riposte_consumer_lag_messages",
        { [LABEL.group]: groupId, [LABEL.topic]: topic, [LABEL.partition]: String(partition) },
        lag,
      );
    }
  }
}

/** Samples lag every `intervalMs` until stopped; a failed sample is logged at debug and retried next time. */
export function startLagSampler(
  bus: Bus,
  metrics: Metrics,
  sources: readonly LagSource[],
  log: Logger,
  intervalMs = 15_000,
): { stop(): void; sampleNow(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sampleNow = () =>
    (running ??= sampleLag(bus, metrics, sources)
      .catch((e: unknown) => log.debug({ err: String(e) }, "consumer lag sample failed; retried at the next interval"))
      .finally(() => {
        running = undefined;
      }));
  const timer = setInterval(() => void sampleNow(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), sampleNow };
}
