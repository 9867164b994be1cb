/** Row 5: splitBody + normalizeEvent over NDJSON bodies of the corpus mix, in this process, no bus. */
import { performance } from "node:perf_hooks";
import { splitBody } from "../../services/ingest/body.ts";
import { normalizeEvent } from "../../services/ingest/normalizers/index.ts";
import { corpusBodies, type CorpusMix } from "./alerts.ts";
import { MemoryProbe, Samples, every, fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface NormalizeOptions {
  readonly name: string;
  readonly bodySize: number;
  readonly maxEvents: number;
  readonly timeLimitMs: number;
}

export async function benchNormalize(mix: CorpusMix, opts: NormalizeOptions): Promise<Row> {
  // 30 bodies (~10 MB) cycle through the whole mix; they stay referenced until the memory probe has finished.
  const bodies = corpusBodies(mix, 30, opts.bodySize);
  const bytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length;
  // Warm-up: one pass over every body, not measured.
  let sink = 0;
  for (const b of bodies)
    for (const p of splitBody(b)) if (p.ok) sink += normalizeEvent(p.event, p.text, ctx()).ok ? 1 : 0;

  const memory = new MemoryProbe();
  const perBody = new Samples();
  let events = 0;
  let normalized = 0;
  const start = performance.now();
  const deadline = start + opts.timeLimitMs;
  const stopTicker = every(2000, () => progress(`  normalize: ${events.toLocaleString("en-US")} events`));
  let i = 0;
  while (events < opts.maxEvents && performance.now() < deadline) {
    const body = bodies[i++ % bodies.length] as string;
    const t = performance.now();
    const receivedTime = Date.now();
    for (const p of splitBody(body)) {
      events++;
      if (p.ok && normalizeEvent(p.event, p.text, { source: "bench", receivedTime }).ok) normalized++;
    }
    perBody.add(performance.now() - t);
    // Yield now and then so the progress ticker and the memory sampler run.
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - start) / 1000;
  stopTicker();
  const mem = memory.finish();
  sink += bodies.length;
  const rate = events / seconds;
  if (sink < 0) progress(String(sink)); // keeps the warm-up from being optimized away
  return {
    name: opts.name,
    throughput: fmtRate(rate, "events"),
    p50: fmtMs(perBody.percentile(50)),
    p99: fmtMs(perBody.percentile(99)),
    unit: "events/s",
    p50Ms: perBody.percentile(50),
    p99Ms: perBody.percentile(99),
    ...(memory.peakMb === undefined ? {} : { rssMb: memory.peakMb }),
    memory: mem,
    rate,
    notes:
      `latency per ${opts.bodySize}-event body (~${(bytes / 1024).toFixed(0)} KB); ${events.toLocaleString("en-US")} events in ` +
      `${seconds.toFixed(1)} s, ${((normalized / events) * 100).toFixed(0)}% normalized; ${mix.formats.length} formats ` +
      `round-robin over ${mix.distinct} distinct corpus events from ${mix.files} files ` +
      `(${mix.rejected} non-alert corpus pieces left out); ${fmtRate((bytes * perBody.count) / 1024 / 1024 / seconds, "MB")}`,
  };
}

function ctx() {
  return { source: "bench", receivedTime: Date.now() };
}
