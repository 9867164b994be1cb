/**
 * `riposte playbooks test [DIR]`: runs the playbook tests of DIR/playbooks/tests/*.yaml (default ./rules) and
 * reports every failed test and broken test file as file:line:column with what differed. Exit 1 on any problem
 * (or when there are no tests).
 */
import { formatProblem } from "../shared/yaml-positions.ts";
import { runPlaybookTests } from "./playbook-tests.ts";

export async function playbooksTestCommand(dir: string): Promise<number> {
  const report = await runPlaybookTests(dir);
  for (const p of report.problems) process.stderr.write(`${formatProblem(p)}\n`);
  const passed = report.results.filter((r) => r.passed).length;
  const failed = report.results.length - passed;
  if (report.files === 0)
    process.stderr.write(`riposte playbooks test: no test files in ${dir}/playbooks/tests (*.yaml)\n`);
  if (report.problems.length === 0 && report.untested.length > 0)
    process.stderr.write(`riposte playbooks test: playbooks without a test: ${report.untested.join(", ")}\n`);
  const ok = report.problems.length === 0 && report.files > 0;
  process.stdout.write(
    `${report.results.length} tests in ${report.files} files: ${passed} passed, ${failed} failed${ok ? "" : `, ${report.problems.length} problems`}\n`,
  );
  return ok ? 0 : 1;
}
