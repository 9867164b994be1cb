/**
 * Runs one fuzz target with fast-check: every input is timed against the target's bound and the process's memory
 * against the memory bound; a failure is shrunk (within a time budget) and reported with the seed and path that
 * replay it.
 */
import fc from "fast-check";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describeValue } from "./describe.ts";

/** Checks one input; throws (a {@link FuzzFailure}, or anything for a crash) when a property does not hold. */
export interface Checker<T> {
  check(input: T): void | Promise<void>;
  close?(): Promise<void>;
}

/** A component under fuzz: how to make inputs, how to check one, how to show one in a report. */
export interface Target<T> {
  readonly name: string;
  readonly description: string;
  /** Share of the total input count. */
  readonly weight: number;
  /** Longest one input may take to be answered. */
  readonly timeBoundMs: number;
  arbitrary(): fc.Arbitrary<T>;
  open(): Promise<Checker<T>>;
  /** A short rendering of an input for failure reports. */
  render(input: T): string;
}

/** Why an input failed. `crash` is anything thrown that the checker did not expect. */
export type FailureKind = "crash" | "slow" | "hang" | "memory" | "property";

/** A property violation, with what kind it is. */
export class FuzzFailure extends Error {
  readonly kind: FailureKind;

  constructor(kind: FailureKind, message: string, opts?: { cause?: unknown }) {
    super(`${kind}: ${message}`, opts);
    this.name = "FuzzFailure";
    this.kind = kind;
  }
}

/** Fails with `property` unless `ok`. */
export function expect(ok: boolean, message: string | (() => string)): asserts ok {
  if (!ok) throw new FuzzFailure("property", typeof message === "string" ? message : message());
}

/** The first lines of an error's stack (or its text). */
export function errorText(e: unknown, lines = 6): string {
  if (!(e instanceof Error)) return String(e);
  const stack = e.stack ?? `${e.name}: ${e.message}`;
  const [head, ...frames] = stack.split("\n");
  return [head, ...frames.filter((f) => !f.includes("node:internal")).slice(0, lines - 1)].join("\n");
}

/** Runs `fn`; a throw becomes a `crash` failure naming `what`. */
export function noThrow<R>(what: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    throw new FuzzFailure("crash", `${what} threw ${errorText(e)}`, { cause: e });
  }
}

export interface Progress {
  readonly target: string;
  /** Inputs tried so far (shrinking attempts not counted). */
  readonly done: number;
  readonly total: number;
  readonly heapUsed: number;
  readonly rss: number;
}

export interface RunOptions {
  readonly runs: number;
  readonly seed?: number | undefined;
  /** A counterexample path from an earlier report: replays that input (and shrinks it). */
  readonly path?: string | undefined;
  /** Overrides the target's own per-input bound. */
  readonly timeBoundMs?: number | undefined;
  /** Growth of heap + external memory over the run that fails it (after a GC, when one can be forced). */
  readonly memoryBoundBytes?: number | undefined;
  /** How long a failure may be shrunk before the smallest one found so far is reported. */
  readonly shrinkBudgetMs?: number | undefined;
  readonly progress?: ((p: Progress) => void) | undefined;
  /** Called before each input with its index among all calls (worker watchdogs record it). */
  readonly onInput?: ((index: number, shrinking: boolean) => void) | undefined;
}

export interface TargetFailure {
  readonly kind: FailureKind | "fast-check";
  readonly message: string;
  readonly counterexample: string;
  readonly seed: number;
  readonly path: string | null;
  readonly numShrinks: number;
  readonly replay: string;
}

export interface TargetResult {
  readonly target: string;
  readonly ok: boolean;
  /** Inputs tried (up to and including the first failing one). */
  readonly runs: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly slowestMs: number;
  readonly slowest: string | undefined;
  readonly memory: { readonly baseline: number; readonly peak: number; readonly end: number; readonly gc: boolean };
  readonly failure?: TargetFailure;
}

export const DEFAULT_MEMORY_BOUND = 512 * 1024 * 1024;
export const DEFAULT_SHRINK_BUDGET_MS = 30_000;

let gcFn: (() => void) | null | undefined;

/** A forced full GC, when the runtime allows one to be exposed. */
function gc(): boolean {
  if (gcFn === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
  return gcFn !== null;
}

const footprint = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

async function withDeadline(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure("hang", `no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function safeRender<T>(target: Target<T>, input: T): string {
  try {
    return target.render(input);
  } catch {
    return describeValue(input);
  }
}

/** Runs one target for `opts.runs` inputs. */
export async function runTarget<T>(target: Target<T>, opts: RunOptions): Promise<TargetResult> {
  const bound = opts.timeBoundMs ?? target.timeBoundMs;
  const memoryBound = opts.memoryBoundBytes ?? DEFAULT_MEMORY_BOUND;
  const shrinkBudget = opts.shrinkBudgetMs ?? DEFAULT_SHRINK_BUDGET_MS;
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const canGc = gc();
  const baseline = footprint();
  let peak = baseline;
  let calls = 0;
  let done = 0;
  let failedAt: number | undefined;
  let slowestMs = 0;
  let slowest: T | undefined;
  let lastProgress = Date.now();
  const started = performance.now();
  const checker = await target.open();

  const report = () => {
    const m = process.memoryUsage();
    opts.progress?.({ target: target.name, done, total: opts.runs, heapUsed: m.heapUsed, rss: m.rss });
  };

  const checkMemory = () => {
    let now = footprint();
    if (now > peak) peak = now;
    if (now - baseline <= memoryBound) return;
    if (canGc) {
      gc();
      now = footprint();
    }
    if (now - baseline > memoryBound) {
      throw new FuzzFailure(
        "memory",
        `heap + external memory grew by ${mb(now - baseline)} (from ${mb(baseline)}), over the ${mb(memoryBound)} bound${canGc ? " after a forced GC" : ""}; the input is where the bound was crossed, not necessarily the cause`,
      );
    }
  };

  const property = fc.asyncProperty(target.arbitrary(), async (input) => {
    // Past the shrink budget, every further candidate is skipped: fast-check reports the smallest failure so far.
    if (failedAt !== undefined && Date.now() - failedAt > shrinkBudget) fc.pre(false);
    opts.onInput?.(calls++, failedAt !== undefined);
    if (failedAt === undefined) done++;
    const t0 = performance.now();
    try {
      const r = checker.check(input);
      if (r instanceof Promise) await withDeadline(r, Math.max(3 * bound, 10_000));
      const ms = performance.now() - t0;
      if (ms > slowestMs && failedAt === undefined) {
        slowestMs = ms;
        slowest = input;
      }
      if (ms > bound) throw new FuzzFailure("slow", `answered in ${ms.toFixed(0)} ms, over the ${bound} ms bound`);
      checkMemory();
    } catch (e) {
      failedAt ??= Date.now();
      throw e;
    } finally {
      if (Date.now() - lastProgress >= 1_000) {
        lastProgress = Date.now();
        report();
      }
    }
  });

  let details: fc.RunDetails<[T]>;
  try {
    details = await fc.check(property, {
      numRuns: opts.runs,
      seed,
      ...(opts.path !== undefined ? { path: opts.path } : {}),
      endOnFailure: shrinkBudget <= 0,
    });
  } finally {
    await checker.close?.();
  }
  report();
  const durationMs = performance.now() - started;
  const memory = { baseline, peak, end: footprint(), gc: canGc };
  const common = {
    target: target.name,
    durationMs,
    seed: details.seed,
    slowestMs,
    slowest: slowest === undefined ? undefined : safeRender(target, slowest),
    memory,
  };
  if (!details.failed) return { ...common, ok: true, runs: details.numRuns };
  const err = details.errorInstance;
  const input = details.counterexample?.[0];
  const path = details.counterexamplePath;
  return {
    ...common,
    ok: false,
    runs: details.numRuns,
    failure: {
      kind: err instanceof FuzzFailure ? err.kind : err === null || err === undefined ? "fast-check" : "crash",
      message:
        err === null || err === undefined
          ? (fc.defaultReportMessage(details) ?? "fast-check failed")
          : errorText(err, 12),
      counterexample: input === undefined ? "(none)" : safeRender(target, input),
      seed: details.seed,
      path,
      numShrinks: details.numShrinks,
      replay: `FUZZ_TARGET=${target.name} FUZZ_SEED=${details.seed}${path ? ` FUZZ_PATH=${path}` : ""} npm run test:fuzz`,
    },
  };
}

/** A result as report lines. */
export function formatResult(r: TargetResult): string {
  const rate = r.durationMs > 0 ? (r.runs / r.durationMs) * 1000 : 0;
  const head = `${r.ok ? "ok  " : "FAIL"} ${r.target}: ${r.runs} inputs in ${(r.durationMs / 1000).toFixed(1)} s (${rate.toFixed(0)}/s), slowest ${r.slowestMs.toFixed(0)} ms, memory ${mb(r.memory.baseline)} → peak ${mb(r.memory.peak)}, end ${mb(r.memory.end)}`;
  if (!r.failure) return head;
  const f = r.failure;
  return [
    head,
    `  kind: ${f.kind} (after ${f.numShrinks} shrinks)`,
    `  error: ${f.message.split("\n").join("\n         ")}`,
    `  counterexample: ${f.counterexample}`,
    `  replay: ${f.replay}`,
  ].join("\n");
}
