/**
 * `riposte playbooks test`: the shipped playbooks pass their tests, and every kind of broken test file or failed
 * expectation is reported at its file:line:column with exit 1.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runPlaybookTests } from "../services/cli/playbook-tests.ts";
import { formatProblem } from "../services/shared/yaml-positions.ts";

const run = promisify(execFile);
async function riposte(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/riposte.js", ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

const scratch = mkdtempSync(join(tmpdir(), "riposte-playbooks-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

/**
 * A copy of the shipped rules whose playbooks/tests/ holds only `case.yaml` with `text`, plus `two-step`, a fixed
 * playbook of two steps (an EDL block, then Slack) so that the reports below do not follow the shipped playbooks.
 */
async function problemsOf(text: string): Promise<{ file: string; lines: string[] }> {
  const dir = join(scratch, `r${++dirs}`);
  cpSync("rules", dir, { recursive: true, filter: (src) => src !== join("rules", "playbooks", "tests") });
  mkdirSync(join(dir, "playbooks", "tests"));
  writeFileSync(join(dir, "playbooks", "two-step.yaml"), TWO_STEP);
  writeFileSync(join(dir, "playbooks", "gated.yaml"), GATED);
  const file = join(dir, "playbooks", "tests", "case.yaml");
  writeFileSync(file, text);
  const report = await runPlaybookTests(dir);
  return { file, lines: report.problems.map(formatProblem) };
}

const TWO_STEP = `id: two-step
version: 1
name: Two steps
steps:
  - id: block
    connector: edl
    action: block_ip
    params: { ip: "{{target.value}}", list: block, ttl: 24h }
    on_failure: abort
  - id: notify
    connector: slack
    action: post_message
    params: { title: "Blocked {{target.value}}", decision: "{{decision.id}}" }
    on_failure: continue
`;

/** A suspension behind an approval gate (expires after 30 min, then denied), the channel told after it. */
const GATED = `id: gated
version: 1
name: Gated
steps:
  - id: suspend
    connector: okta
    action: suspend_user
    params: { user: "{{target.value}}" }
    approval: { roles: [approver], expires: 30m, on_expiry: deny }
  - id: notify
    connector: slack
    action: post_message
    params: { title: "{{target.value}}", decision: "{{decision.id}}" }
`;

const gated = (approvals: string, expect: string) => `tests:
  - name: g
    playbook: gated
    decision:
      target: { type: user, value: j.doe@example.com }
    approvals: ${approvals}
    expect:
${expect}`;

const blockIp = (expect: string, answers = "") => `tests:
  - name: t
    playbook: two-step
    decision:
      target: { type: ip, value: 203.0.113.7 }
      params: { reason: r }
${answers}    expect:
${expect}`;

test("the shipped playbooks pass their tests (npm test runs them)", async () => {
  const r = await riposte("playbooks", "test", "rules");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\d+ tests in [1-9]\d* files: (\d+) passed, 0 failed\n$/);
  const report = await runPlaybookTests("rules");
  for (const id of ["isolate-host", "block-ip", "purge-phishing"])
    assert.ok(
      report.results.some((t) => t.playbook === id && t.passed),
      `${id} has a passing test`,
    );
});

test("a different final status and a different step order are reported where they are expected", async () => {
  const { file, lines } = await problemsOf(
    blockIp(`      status: failed
      steps:
        - notify: succeeded
        - block: succeeded
`),
  );
  assert.deepEqual(lines, [
    `${file}:8:7: test "t": the run ended succeeded, expected failed`,
    `${file}:9:7: test "t": steps ended as block: succeeded, notify: succeeded; expected notify: succeeded, block: succeeded`,
  ]);
});

test("a mocked error and the calls it costs; a wrong call count is reported at its step", async () => {
  const { file, lines } = await problemsOf(
    blockIp(
      `      status: aborted
      steps:
        - block: failed
        - notify: skipped_aborted
      calls: { block: 2 }
`,
      `    answers:
      block: { error: RIPOSTE_CONNECTOR_AUTH }
`,
    ),
  );
  assert.deepEqual(lines, [`${file}:14:16: test "t": block called its connector 1 times, expected 2`]);
});

test("an unknown playbook, an answer for no step and a malformed answer are problems with positions", async () => {
  const unknown = await problemsOf(`tests:
  - name: t
    playbook: nope
    decision: { target: { type: ip, value: 203.0.113.7 } }
    expect: { status: succeeded, steps: [{ a: succeeded }] }
`);
  assert.equal(unknown.lines.length, 1);
  assert.match(
    unknown.lines[0] ?? "",
    /case\.yaml:3:5: test "t": no playbook "nope" in the directory \(known: .*block-ip/,
  );
  const step = await problemsOf(
    blockIp(
      `      status: succeeded
      steps: [{ block: succeeded }]
`,
      `    answers:
      blok: { output: {} }
`,
    ),
  );
  assert.deepEqual(step.lines, [`${step.file}:8:7: test "t": answers: "blok" is not a step of two-step`]);
  const bad = await problemsOf(
    blockIp(
      `      status: succeeded
      steps: [{ block: succeeded }]
`,
      `    answers:
      block: { output: {}, timeout: true }
`,
    ),
  );
  assert.equal(bad.lines.length, 1);
  assert.match(bad.lines[0] ?? "", /case\.yaml:8:7: tests\.0\.answers\.block: an answer is one of output:/);
});

test("approvals: approve runs the gated step, deny and expire (on_expiry deny) stop it, expire with proceed runs it", async () => {
  const cases: Array<[string, string]> = [
    [
      "{ suspend: { verdict: approve, by: alice } }",
      "status: succeeded, steps: [{ suspend: succeeded }, { notify: succeeded }], calls: { suspend: 1, notify: 1 }",
    ],
    [
      "{ suspend: deny }",
      "status: denied, steps: [{ suspend: denied }, { notify: skipped_denied }], calls: { suspend: 0, notify: 0 }",
    ],
    [
      "{ suspend: expire }",
      "status: denied, steps: [{ suspend: expired }, { notify: skipped_denied }], calls: { suspend: 0, notify: 0 }",
    ],
    [
      "{ suspend: { verdict: expire, on_expiry: proceed } }",
      "status: succeeded, steps: [{ suspend: succeeded }, { notify: succeeded }], calls: { suspend: 1, notify: 1 }",
    ],
    ["{}", "status: waiting_approval, steps: [{ suspend: awaiting_approval }], calls: { suspend: 0, notify: 0 }"],
  ];
  for (const [approvals, expect] of cases) {
    const { lines } = await problemsOf(gated(approvals, `      { ${expect} }\n`));
    assert.deepEqual(lines, [], `${approvals} → ${expect}`);
  }
  // A wrong expectation after a verdict is reported like any other.
  const wrong = await problemsOf(
    gated("{ suspend: deny }", "      { status: succeeded, steps: [{ suspend: succeeded }] }\n"),
  );
  assert.deepEqual(wrong.lines, [
    `${wrong.file}:8:9: test "g": the run ended denied, expected succeeded`,
    `${wrong.file}:8:28: test "g": steps ended as suspend: denied, notify: skipped_denied; expected suspend: succeeded`,
  ]);
});

test("approvals: a verdict for no step, for a step that never waited, an on_expiry with no gate are problems", async () => {
  const ok = "      { status: succeeded, steps: [{ suspend: succeeded }, { notify: succeeded }] }\n";
  const unknown = await problemsOf(gated("{ suspnd: approve }", ok));
  assert.deepEqual(unknown.lines, [`${unknown.file}:6:18: test "g": approvals: "suspnd" is not a step of gated`]);
  const never = await problemsOf(gated("{ suspend: approve, notify: approve }", ok));
  assert.deepEqual(never.lines, [
    `${never.file}:6:36: test "g": step notify never waited for approval: its verdict was not used`,
  ]);
  const noGate = await problemsOf(gated("{ suspend: approve, notify: { verdict: expire, on_expiry: proceed } }", ok));
  assert.equal(noGate.lines.length, 1);
  assert.match(
    noGate.lines[0] ?? "",
    /case\.yaml:6:\d+: test "g": approvals: step "notify" has no approval gate of its own/,
  );
  const bad = await problemsOf(gated("{ suspend: { verdict: approve, on_expiry: proceed } }", ok));
  assert.equal(bad.lines.length, 1);
  assert.match(bad.lines[0] ?? "", /tests\.0\.approvals\.suspend/);
});

test("no test files: exit 1 and says where it looked", async () => {
  const dir = join(scratch, "empty");
  cpSync("rules", dir, { recursive: true, filter: (src) => src !== join("rules", "playbooks", "tests") });
  const r = await riposte("playbooks", "test", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no test files in .*playbooks\/tests/);
});

test("riposte rules validate: a playbook graph's unknown need, cycle and bad if are reported at file:line:column", async () => {
  const dir = join(scratch, "graph");
  cpSync("rules", dir, { recursive: true });
  const step = (id: string, extra: string) => `  - id: ${id}
    connector: slack
    action: post_message
    params: { title: x }
${extra}`;
  const write = (steps: string) =>
    writeFileSync(join(dir, "playbooks", "notify.yaml"), `id: notify\nversion: 1\nname: n\nsteps:\n${steps}`);
  write(step("a", "    needs: [nope]\n"));
  let r = await riposte("rules", "validate", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /notify\.yaml:9:13: steps\.0\.needs\.0: needs "nope", which is not a step of this playbook/);
  write(step("a", "    needs: [b]\n") + step("b", "    needs: [a]\n"));
  r = await riposte("rules", "validate", dir);
  assert.match(r.stderr, /notify\.yaml:9:5: steps\.0\.needs: steps wait for each other in a cycle: a → b → a/);
  write(step("a", "") + step("b", '    if: { fact: steps, path: $.a.output.x, operator: regex, value: "(" }\n'));
  r = await riposte("rules", "validate", dir);
  assert.match(r.stderr, /notify\.yaml:13:61: regex: regex "\(": error parsing regexp: missing closing \)/);
});
