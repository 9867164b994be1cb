import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { Writable } from "node:stream";
import { Metrics } from "./metrics.ts";
import { countersMoved, startSummary } from "./summary.ts";
import { execFileSync } from "node:child_process";

test("the summary names only the counters that moved, by how much", () => {
  assert.deepEqual(countersMoved({ a_total: 1, b_total: 2 }, { a_total: 4, b_total: 2, c_total: 1 }), { a: 3, c: 1 });
});

test("one summary line per interval, none while nothing happens", () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const metrics = new Metrics();
  const s = startSummary(metrics, pino({ level: "info" }, sink), 60_000);
  s.flush();
  for (let i = 0; i < 1000; i++) metrics.inc("ingest_normalized_total");
  metrics.inc("correlator_decisions_total", 2);
  s.flush();
  s.stop();
  assert.equal(lines.length, 1, "a thousand events, one line");
  assert.equal(lines[0]?.["ingest_normalized"], 1000);
  assert.equal(lines[0]?.["correlator_decisions"], 2);
  assert.equal(lines[0]?.["msg"], "summary");
});

test("RIPOSTE_LOG_FORMAT: pretty gives readable lines, json gives JSON lines", () => {
  const run = (format: string) =>
    execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { createLogger } = await import(${JSON.stringify(new URL("./log.ts", import.meta.url).href)});
         const log = createLogger({ format: ${JSON.stringify(format)}, tty: false });
         log.info({ decision_id: "d1" }, "decision");`,
      ],
      { encoding: "utf8" },
    );
  const pretty = run("pretty");
  assert.match(pretty, /INFO.*decision/);
  assert.match(pretty, /decision_id: "d1"/);
  assert.throws(() => JSON.parse(pretty), "not JSON");
  const json = JSON.parse(run("json")) as Record<string, unknown>;
  assert.equal(json["msg"], "decision");
  assert.equal(json["decision_id"], "d1");
});
