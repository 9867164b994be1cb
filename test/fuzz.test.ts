/**
 * The fuzz suite at a CI-sized count: each target for FUZZ_RUNS inputs (default 200), with a fresh seed each run
 * (FUZZ_SEED fixes it). A failure's message carries the counterexample and the command that replays it; the
 * 100,000-input run is `npm run test:fuzz`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatResult, runTarget, TARGETS } from "./fuzz/index.ts";

const runs = Number(process.env["FUZZ_RUNS"] ?? 200);
const seed = process.env["FUZZ_SEED"] === undefined ? undefined : Number(process.env["FUZZ_SEED"]);

for (const target of TARGETS) {
  test(`fuzz ${target.name}: ${target.description}`, { timeout: 170_000 }, async () => {
    const result = await runTarget(target, { runs, seed, shrinkBudgetMs: 10_000 });
    assert.ok(result.ok, formatResult(result));
  });
}
