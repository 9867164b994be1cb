/** Bench helpers: progress lines on stderr, latency samples, memory probes, number formatting and the table. */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * One row of the result table. `rate` (per second) is kept for comparisons between rows; `id`, `unit`, the
 * numeric latencies and peak RSS go to `--json`.
 */
export interface Row {
  readonly id?: string;
  readonly name: string;
  readonly throughput: string;
  readonly p50: string;
  readonly p99: string;
  readonly memory: string;
  readonly notes: string;
  readonly rate?: number;
  /** What `rate` counts, e.g. "evals/s". */
  readonly unit?: string;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Peak RSS of this process during the row, MB. */
  readonly rssMb?: number;
}

/** The row as `--json` writes it: the contract other tools read. */
export interface JsonRow {
  readonly id: string;
  readonly name: string;
  readonly rate: number | null;
  readonly unit: string | null;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly rss_mb: number | null;
  readonly notes: string;
}

const finite = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : null);

export function jsonRow(r: Row): JsonRow {
  return {
    id: r.id ?? r.name,
    name: r.name,
    rate: finite(r.rate),
    unit: r.unit ?? null,
    p50_ms: finite(r.p50Ms),
    p99_ms: finite(r.p99Ms),
    rss_mb: finite(r.rssMb === undefined ? undefined : Math.round(r.rssMb * 10) / 10),
    notes: r.notes,
  };
}

const started = performance.now();

/** A progress line on stderr, stamped with the seconds since the bench started. */
export function progress(line: string): void {
  process.stderr.write(`[bench +${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
}

/** Seconds since the bench started. */
export function elapsedSeconds(): number {
  return (performance.now() - started) / 1000;
}

/** Calls `fn` every `ms` until the returned function is called. */
export function every(ms: number, fn: () => void): () => void {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
}

// A full GC before and after a measurement makes heap deltas mean "retained", not "not yet collected".
setFlagsFromString("--expose-gc");
const gcFn = runInNewContext("gc") as unknown;
export function gc(): void {
  if (typeof gcFn === "function") (gcFn as () => void)();
}

/** Starts measuring this process's CPU time; the returned function gives "node CPU 0.93 cores" since then. */
export function cpuMeter(): () => string {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return `node CPU ${((used.user + used.system) / 1000 / (performance.now() - wall)).toFixed(2)} cores`;
  };
}

/** Latency samples in milliseconds. */
export class Samples {
  private values: number[] = [];
  private sorted = true;

  add(ms: number): void {
    this.values.push(ms);
    this.sorted = false;
  }

  get count(): number {
    return this.values.length;
  }

  /** The p-th percentile (0..100), nearest rank; NaN when empty. */
  percentile(p: number): number {
    if (this.values.length === 0) return NaN;
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.min(this.values.length - 1, Math.max(0, Math.ceil((p / 100) * this.values.length) - 1));
    return this.values[rank] as number;
  }
}

export const MB = 1024 * 1024;

/**
 * Memory over one row: peak RSS sampled every 50 ms, and the heap used after a full GC at the end minus the heap
 * used after a full GC at the start (what the row still holds: buffers, state, samples).
 */
export class MemoryProbe {
  private readonly baseRss: number;
  private readonly baseHeap: number;
  private peakRss: number;
  private readonly stop: () => void;

  constructor() {
    gc();
    const m = process.memoryUsage();
    this.baseRss = m.rss;
    this.baseHeap = m.heapUsed;
    this.peakRss = m.rss;
    this.stop = every(50, () => this.sample());
  }

  private sample(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
  }

  /** Peak RSS in MB, once finished. */
  peakMb: number | undefined;

  /** "RSS 231 MB peak (+48) / heap +12.3 MB" */
  finish(): string {
    this.sample();
    this.stop();
    this.peakMb = this.peakRss / MB;
    gc();
    const heapDelta = (process.memoryUsage().heapUsed - this.baseHeap) / MB;
    const rssDelta = (this.peakRss - this.baseRss) / MB;
    return `RSS ${(this.peakRss / MB).toFixed(0)} MB peak (${signed(rssDelta, 0)}) / heap ${signed(heapDelta, 1)} MB`;
  }
}

function signed(n: number, digits: number): string {
  const s = n.toFixed(digits);
  return n >= 0 ? `+${s}` : s;
}

/** "12,345 msg/s" */
export function fmtRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond)) return "n/a";
  const digits = perSecond >= 100 ? 0 : 1;
  return `${perSecond.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}/s`;
}

/** Milliseconds, in µs below 1 ms. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** "1.23×" (how many times `a` is `b`). */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return "n/a";
  return `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`;
}

/** A row that did not run, with the reason. */
export function skippedRow(name: string, reason: string): Row {
  return { name, throughput: "skipped", p50: "-", p99: "-", memory: "-", notes: reason };
}

/** A row whose measurement threw. */
export function failedRow(name: string, e: unknown): Row {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
  return { name, throughput: "FAILED", p50: "-", p99: "-", memory: "-", notes: message };
}

/** A markdown table with aligned columns. */
export function table(rows: readonly Row[]): string {
  const header = ["id", "row", "throughput", "p50", "p99", "memory (peak RSS / heap Δ)", "notes"];
  const cells = rows.map((r) =>
    [r.id ?? "", r.name, r.throughput, r.p50, r.p99, r.memory, r.notes].map((c) => c.replace(/\|/g, "/")),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const right = new Set([2, 3, 4]);
  const line = (cols: readonly string[]) =>
    `| ${cols.map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`;
  return [line(header), rule, ...cells.map(line)].join("\n");
}
