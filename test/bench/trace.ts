/**
 * Rows trace.off and trace.on: the embedded pipeline (benchPipeline) with tracing off (spans propagated, nothing
 * exported, as `riposte run` without OTEL_* settings) and with every span exported (OTEL_TRACES_SAMPLER=always_on)
 * over OTLP/HTTP protobuf to a receiver here that counts them, as a Collector would take them. Telemetry is per
 * process, so each run is a child process (trace-child.ts); the runs alternate (off, on, on, off) so that a noisy
 * neighbour on the machine weighs on both, and each row keeps its best run; the CPU time of each run (the least
 * of each mode) is the steadier figure on a shared machine.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startOtlpReceiver } from "../support/otlp.ts";
import type { PipelineOptions } from "./pipeline.ts";
import { progress, ratio, type Row } from "./report.ts";

export type TraceMode = "off" | "on";
export type ChildOptions = Omit<PipelineOptions, "name" | "tag" | "env" | "prefixes">;

const CHILD = fileURLToPath(new URL("./trace-child.ts", import.meta.url));

interface ChildResult {
  readonly row: Row;
  readonly cpuSeconds: number;
}

function runChild(mode: TraceMode, opts: ChildOptions, endpoint: string): Promise<ChildResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_TRACE_OPTIONS: JSON.stringify(opts) };
  for (const k of Object.keys(env)) if (k.startsWith("OTEL_")) delete env[k];
  if (mode === "on")
    Object.assign(env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_TRACES_SAMPLER: "always_on",
      // A queue deep enough that no span is dropped at this rate: the cost of exporting all of them is measured.
      OTEL_BSP_MAX_QUEUE_SIZE: "262144",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "4096",
      OTEL_BSP_SCHEDULE_DELAY: "500",
    });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, CHILD, mode], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`the trace.${mode} run exited with ${code}`));
      try {
        resolve(JSON.parse(out) as ChildResult);
      } catch (e) {
        reject(new Error(`the trace.${mode} run printed no row: ${String(e)}`));
      }
    });
  });
}

export async function benchTrace(opts: {
  names: Record<TraceMode, string>;
  run: ChildOptions;
  /** Runs per mode (alternating). */
  rounds: number;
}): Promise<Row[]> {
  const receiver = await startOtlpReceiver({ decode: false });
  try {
    const runs: Record<TraceMode, ChildResult[]> = { off: [], on: [] };
    let exported = { spans: 0, bytes: 0 };
    for (let i = 0; i < opts.rounds; i++) {
      for (const mode of (i % 2 === 0 ? ["off", "on"] : ["on", "off"]) as TraceMode[]) {
        progress(`  trace.${mode}: round ${i + 1} of ${opts.rounds}`);
        const before = { ...receiver.counted };
        runs[mode].push(await runChild(mode, opts.run, receiver.url));
        if (mode === "on")
          exported = {
            spans: exported.spans + receiver.counted.spans - before.spans,
            bytes: exported.bytes + receiver.counted.bytes - before.bytes,
          };
      }
    }
    const best = (mode: TraceMode) =>
      runs[mode].map((r) => r.row).reduce((a, b) => ((b.rate ?? 0) > (a.rate ?? 0) ? b : a));
    // CPU time of the least disturbed run: a busy neighbour costs wall time more than it costs ours.
    const cpu = (mode: TraceMode) => Math.min(...runs[mode].map((r) => r.cpuSeconds));
    const [off, on] = [best("off"), best("on")];
    const rates = (mode: TraceMode) => runs[mode].map((r) => Math.round(r.row.rate ?? 0)).join(", ");
    const cpus = (mode: TraceMode) => runs[mode].map((r) => r.cpuSeconds.toFixed(1)).join(", ");
    const sent = runs.on.length;
    const cost = off.rate && on.rate ? ((1 - on.rate / off.rate) * 100).toFixed(1) : "n/a";
    const cpuCost = ((cpu("on") / cpu("off") - 1) * 100).toFixed(1);
    return [
      {
        ...off,
        id: "trace.off",
        name: opts.names.off,
        notes:
          `best of ${runs.off.length} runs (${rates("off")} alerts/s; CPU ${cpus("off")} s per run); span ids made ` +
          `and propagated, nothing recorded or exported; ${off.notes}`,
      },
      {
        ...on,
        id: "trace.on",
        name: opts.names.on,
        notes:
          `${ratio(on.rate, off.rate)} the trace.off rate (cost ${cost} %, goal ≤ 10 %); CPU per run ` +
          `${cpu("on").toFixed(1)} s vs ${cpu("off").toFixed(1)} s off (+${cpuCost} %, least of each); best of ${sent} ` +
          `runs (${rates("on")} alerts/s; CPU ${cpus("on")} s); ${exported.spans} spans ` +
          `(${(exported.bytes / 1e6).toFixed(1)} MB protobuf) received over OTLP/HTTP in ${sent} runs; ${on.notes}`,
      },
    ];
  } finally {
    await receiver.close();
  }
}
