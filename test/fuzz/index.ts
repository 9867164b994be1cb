/**
 * The fuzz suite: its targets and a runner shared by `npm test` (test/fuzz.test.ts, a CI-sized count) and
 * `npm run test:fuzz` (test/fuzz/main.ts, 100,000 inputs in workers).
 */
import { ingestApi } from "./api.ts";
import { formatResult, runTarget, type Progress, type Target, type TargetResult } from "./harness.ts";
import { normalizeJson, normalizeText } from "./normalizers.ts";
import { splitter } from "./splitter.ts";
import { syslogFraming } from "./syslog.ts";

export { formatResult, runTarget, FuzzFailure, type Progress, type Target, type TargetResult } from "./harness.ts";

/** Every target, in the order they run. */
export const TARGETS: ReadonlyArray<Target<unknown>> = [
  normalizeJson,
  normalizeText,
  splitter,
  syslogFraming,
  ingestApi,
];

/** The target named `name`; throws listing the names when there is none. */
export function targetNamed(name: string): Target<unknown> {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}": the targets are ${TARGETS.map((x) => x.name).join(", ")}`);
  return t;
}

/** Splits `total` inputs over the targets by weight (every target gets at least one). */
export function shares(total: number, targets: ReadonlyArray<Target<unknown>> = TARGETS): Map<string, number> {
  const weight = targets.reduce((s, t) => s + t.weight, 0);
  const out = new Map<string, number>();
  let given = 0;
  targets.forEach((t, i) => {
    const n = i === targets.length - 1 ? total - given : Math.max(1, Math.round((total * t.weight) / weight));
    out.set(t.name, Math.max(1, n));
    given += n;
  });
  return out;
}

export interface FuzzOptions {
  /** Inputs in all, spread over the targets by weight. */
  readonly runs: number;
  readonly seed?: number | undefined;
  readonly path?: string | undefined;
  /** Only these targets (default all). */
  readonly targets?: readonly string[] | undefined;
  readonly shrinkBudgetMs?: number | undefined;
  readonly memoryBoundBytes?: number | undefined;
  readonly progress?: ((p: Progress) => void) | undefined;
}

export interface FuzzReport {
  readonly ok: boolean;
  readonly results: readonly TargetResult[];
  readonly text: string;
}

/** Runs the targets one after another in this process. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const targets = opts.targets ? opts.targets.map(targetNamed) : TARGETS;
  const counts = shares(opts.runs, targets);
  const results: TargetResult[] = [];
  for (const t of targets) {
    results.push(
      await runTarget(t, {
        runs: counts.get(t.name)!,
        seed: opts.seed,
        path: opts.path,
        shrinkBudgetMs: opts.shrinkBudgetMs,
        memoryBoundBytes: opts.memoryBoundBytes,
        progress: opts.progress,
      }),
    );
  }
  return { ok: results.every((r) => r.ok), results, text: results.map(formatResult).join("\n") };
}
