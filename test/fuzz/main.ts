/**
 * `npm run test:fuzz`: 100,000 inputs (FUZZ_RUNS) spread over every target by weight, in chunks run by worker
 * threads (FUZZ_JOBS, default 2). Progress on stderr every few seconds; a summary at the end; exit status 1 on
 * any failure, with the seed and path that replay it:
 *
 *   FUZZ_TARGET=body FUZZ_SEED=123 FUZZ_PATH=35:1:4 npm run test:fuzz
 *
 * Other knobs: FUZZ_SHRINK_MS (shrink budget per failure, default 30000), FUZZ_MEMORY_MB (growth bound, 512),
 * FUZZ_HANG_MS (no answer for this long kills a worker and reports a hang, default 120000).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { formatResult, shares, TARGETS, targetNamed, type TargetResult } from "./index.ts";
import type { Job, WorkerMessage } from "./worker.ts";

const env = process.env;
const log = (line: string) => process.stderr.write(`[fuzz] ${line}\n`);

function intEnv(name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, not ${JSON.stringify(v)}`);
  return n;
}

/** Largest chunk of one target run by one worker (a chunk's memory is measured from its own start). */
const CHUNK = 10_000;

interface Chunk {
  readonly target: string;
  readonly index: number;
  readonly runs: number;
  readonly seed: number;
}

interface Running {
  readonly chunk: Chunk;
  readonly worker: Worker;
  readonly current: Int32Array;
  done: number;
  heapUsed: number;
  lastHeard: number;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const duration = (ms: number) =>
  `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}s`;

async function main(): Promise<number> {
  const total = intEnv("FUZZ_RUNS", 100_000);
  const baseSeed = intEnv("FUZZ_SEED", (Date.now() ^ (Math.random() * 0x100000000)) | 0);
  const path = env["FUZZ_PATH"] || undefined;
  const names = env["FUZZ_TARGET"] ? env["FUZZ_TARGET"].split(",").map((s) => s.trim()) : TARGETS.map((t) => t.name);
  const targets = names.map(targetNamed);
  const jobs = Math.max(1, intEnv("FUZZ_JOBS", Math.min(2, availableParallelism())));
  const shrinkBudgetMs = intEnv("FUZZ_SHRINK_MS", 30_000);
  const memoryBoundBytes = intEnv("FUZZ_MEMORY_MB", 512) * 1024 * 1024;
  const hangMs = intEnv("FUZZ_HANG_MS", 120_000);
  if (path !== undefined && (targets.length !== 1 || env["FUZZ_SEED"] === undefined)) {
    throw new Error("FUZZ_PATH replays one input: give FUZZ_TARGET (one target) and FUZZ_SEED with it");
  }

  const chunks: Chunk[] = [];
  for (const [target, runs] of shares(total, targets)) {
    const n = path !== undefined ? 1 : Math.ceil(runs / CHUNK);
    for (let i = 0; i < n; i++) {
      const share = Math.floor(runs / n) + (i < runs % n ? 1 : 0);
      chunks.push({ target, index: i, runs: share, seed: (baseSeed + i) | 0 });
    }
  }
  log(
    `${total} inputs over ${targets.map((t) => t.name).join(", ")} in ${chunks.length} chunks, ${jobs} workers, seed ${baseSeed}${path ? `, replaying path ${path}` : ""}`,
  );

  const started = Date.now();
  const results: TargetResult[] = [];
  const running = new Set<Running>();
  const finished = new Map<string, number>();
  const queue = [...chunks];

  const progressLine = () => {
    const done = [...finished.values()].reduce((s, n) => s + n, 0) + [...running].reduce((s, r) => s + r.done, 0);
    const elapsed = Date.now() - started;
    const each = [...running].map(
      (r) => `${r.chunk.target}#${r.chunk.index} ${r.done}/${r.chunk.runs} (heap ${mb(r.heapUsed)})`,
    );
    log(
      `${done}/${total} inputs, ${((done / Math.max(1, elapsed)) * 1000).toFixed(0)}/s, ${duration(elapsed)}, rss ${mb(process.memoryUsage.rss())}; ${each.join("; ")}`,
    );
  };

  const runChunk = (chunk: Chunk) =>
    new Promise<void>((resolve) => {
      const current = new SharedArrayBuffer(8);
      const job: Job = {
        target: chunk.target,
        runs: chunk.runs,
        seed: chunk.seed,
        path,
        shrinkBudgetMs,
        memoryBoundBytes,
        current,
      };
      const worker = new Worker(new URL("./worker.ts", import.meta.url), { workerData: job });
      const r: Running = {
        chunk,
        worker,
        current: new Int32Array(current),
        done: 0,
        heapUsed: 0,
        lastHeard: Date.now(),
      };
      running.add(r);
      let settled = false;
      const settle = (result: TargetResult) => {
        if (settled) return;
        settled = true;
        results.push(result);
        finished.set(`${chunk.target}#${chunk.index}`, result.runs);
        running.delete(r);
        if (!result.ok) log(`failure:\n${formatResult(result)}`);
        resolve();
      };
      const broken = (kind: "hang" | "crash", message: string, counterexample: string) => {
        const index = Atomics.load(r.current, 0);
        const shrinking = Atomics.load(r.current, 1) === 1;
        const replayPath = shrinking ? null : String(index);
        settle({
          target: chunk.target,
          ok: false,
          runs: r.done,
          durationMs: Date.now() - started,
          seed: chunk.seed,
          slowestMs: 0,
          slowest: undefined,
          memory: { baseline: 0, peak: r.heapUsed, end: r.heapUsed, gc: false },
          failure: {
            kind,
            message,
            counterexample,
            seed: chunk.seed,
            path: replayPath,
            numShrinks: 0,
            replay: `FUZZ_TARGET=${chunk.target} FUZZ_SEED=${chunk.seed}${replayPath ? ` FUZZ_PATH=${replayPath}` : ""} npm run test:fuzz`,
          },
        });
      };
      worker.on("message", (m: WorkerMessage) => {
        r.lastHeard = Date.now();
        if (m.type === "progress") {
          r.done = m.progress.done;
          r.heapUsed = m.progress.heapUsed;
        } else if (m.type === "result") settle(m.result);
        else broken("crash", `the worker failed: ${m.message}`, "(none)");
      });
      worker.on("error", (e) =>
        broken("crash", `the worker died: ${e.stack ?? e.message}`, `input #${Atomics.load(r.current, 0)}`),
      );
      worker.on("exit", (code) => {
        if (!settled)
          broken(
            "crash",
            `the worker exited with code ${code} (out of memory?)`,
            `input #${Atomics.load(r.current, 0)}`,
          );
      });
      const watchdog = setInterval(() => {
        if (settled) return clearInterval(watchdog);
        if (Date.now() - r.lastHeard > hangMs) {
          clearInterval(watchdog);
          const index = Atomics.load(r.current, 0);
          broken(
            "hang",
            `no progress for ${hangMs} ms: input #${index}${Atomics.load(r.current, 1) === 1 ? " (while shrinking)" : ""} is not answered`,
            `input #${index} of seed ${chunk.seed} (replay it with FUZZ_PATH)`,
          );
          void worker.terminate();
        }
      }, 1_000);
    });

  const ticker = setInterval(progressLine, 5_000);
  try {
    await Promise.all(
      Array.from({ length: jobs }, async () => {
        for (let c = queue.shift(); c !== undefined; c = queue.shift()) await runChunk(c);
      }),
    );
  } finally {
    clearInterval(ticker);
  }

  const elapsed = Date.now() - started;
  const inputs = results.reduce((s, r) => s + r.runs, 0);
  const failed = results.filter((r) => !r.ok);
  const lines = [
    "",
    `summary: ${inputs} inputs in ${duration(elapsed)} (${((inputs / Math.max(1, elapsed)) * 1000).toFixed(0)}/s), seed ${baseSeed}, ${failed.length} failing chunk(s)`,
    ...results.sort((a, b) => a.target.localeCompare(b.target)).map(formatResult),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(2);
  },
);
