/**
 * A worker thread of `npm run test:fuzz`: runs one chunk of one target and posts progress and the result. The
 * index of the input being checked is kept in shared memory, so the parent can name the input that hung even
 * when this thread no longer answers.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runTarget, targetNamed, type Progress, type TargetResult } from "./index.ts";

export interface Job {
  readonly target: string;
  readonly runs: number;
  readonly seed: number;
  readonly path: string | undefined;
  readonly shrinkBudgetMs: number | undefined;
  readonly memoryBoundBytes: number | undefined;
  /** [index of the input being checked, 1 while shrinking]. */
  readonly current: SharedArrayBuffer;
}

export type WorkerMessage =
  | { readonly type: "progress"; readonly progress: Progress }
  | { readonly type: "result"; readonly result: TargetResult }
  | { readonly type: "error"; readonly message: string };

const job = workerData as Job;
const port = parentPort!;
const current = new Int32Array(job.current);
const post = (m: WorkerMessage) => port.postMessage(m);

runTarget(targetNamed(job.target), {
  runs: job.runs,
  seed: job.seed,
  path: job.path,
  shrinkBudgetMs: job.shrinkBudgetMs,
  memoryBoundBytes: job.memoryBoundBytes,
  progress: (progress) => post({ type: "progress", progress }),
  onInput: (index, shrinking) => {
    Atomics.store(current, 0, index);
    Atomics.store(current, 1, shrinking ? 1 : 0);
  },
}).then(
  (result) => post({ type: "result", result }),
  (e: unknown) => post({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
);
