/**
 * `riposte rules test [DIR]`: runs the rule tests of DIR/tests/*.yaml (default ./rules) and reports every failed test
 * and broken test file as file:line:column with what differed. Exit 1 on any problem (or when there are no tests).
 */
import { formatProblem } from "../shared/yaml-positions.ts";
import { runRuleTests } from "./rule-tests.ts";

export async function rulesTestCommand(dir: string): Promise<number> {
  const report = await runRuleTests(dir);
  for (const p of report.problems) process.stderr.write(`${formatProblem(p)}\n`);
  const passed = report.results.filter((r) => r.passed).length;
  const failed = report.results.length - passed;
  if (report.files === 0) process.stderr.write(`riposte rules test: no test files in ${dir}/tests (*.yaml)\n`);
  // Coverage says something only of tests that ran and passed.
  const { positive, negative } = report.problems.length === 0 ? report.uncovered : { positive: [], negative: [] };
  if (positive.length > 0)
    process.stderr.write(`riposte rules test: rules without a positive test: ${positive.join(", ")}\n`);
  if (negative.length > 0)
    process.stderr.write(`riposte rules test: rules without a negative test: ${negative.join(", ")}\n`);
  const ok = report.problems.length === 0 && report.files > 0;
  process.stdout.write(
    `${report.results.length} tests in ${report.files} files: ${passed} passed, ${failed} failed${ok ? "" : `, ${report.problems.length} problems`}\n`,
  );
  return ok ? 0 : 1;
}
