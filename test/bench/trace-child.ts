/**
 * One run of the trace rows (trace.ts): the embedded pipeline in this process, with telemetry as the OTEL_*
 * variables the parent set say (`on`: exported over OTLP; `off`: propagated only). Prints the row and the CPU time
 * of the run (user + system, export included) as JSON.
 */
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { initTelemetry, shutdownTelemetry } from "../../services/shared/telemetry.ts";
import { benchPipeline } from "./pipeline.ts";
import type { ChildOptions } from "./trace.ts";

const mode = process.argv[2];
if (mode !== "on" && mode !== "off") throw new Error("usage: trace-child.ts on|off");
const opts = JSON.parse(process.env["BENCH_TRACE_OPTIONS"] ?? "{}") as ChildOptions;
const { otlp } = loadConfig(process.env, CONNECTORS);
initTelemetry({ serviceName: "riposte-bench", otlp });
const cpu = process.cpuUsage();
const row = await benchPipeline({ ...opts, name: `trace.${mode}`, tag: `trace-${mode}`, env: {}, prefixes: [] });
// Flushes the spans still queued, so that the receiver's count covers the run (and its CPU the export).
await shutdownTelemetry();
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ row, cpuSeconds: (used.user + used.system) / 1e6 }));
process.exit(0);
