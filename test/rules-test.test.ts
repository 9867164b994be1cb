/**
 * `riposte rules test`: the shipped rules pass their tests (every rule with a positive and a negative one), and every
 * kind of broken test file or failed expectation is reported at its file:line:column with exit 1.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runRuleTests } from "../services/cli/rule-tests.ts";
import { formatProblem } from "../services/shared/yaml-positions.ts";

const run = promisify(execFile);
/** The CLI's exit code and output, whatever the code. */
async function riposte(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/riposte.js", ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

const scratch = mkdtempSync(join(tmpdir(), "riposte-rules-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

/** A copy of the shipped rules whose tests/ holds only `files`. */
function rulesWith(files: Record<string, string>): string {
  const dir = join(scratch, `r${++dirs}`);
  cpSync("rules", dir, { recursive: true, filter: (src) => src !== join("rules", "tests") });
  mkdirSync(join(dir, "tests"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "tests", name), text);
  return dir;
}

/** One failing-or-broken case: its problems as printed. */
async function problemsOf(text: string): Promise<{ file: string; lines: string[] }> {
  const dir = rulesWith({});
  const file = join(dir, "tests", "case.yaml");
  writeFileSync(file, text);
  const report = await runRuleTests(dir);
  return { file, lines: report.problems.map(formatProblem) };
}

/** A Suricata priority-1 alert from `src` (EVE JSON as docs.suricata.io, Eve JSON Output, describes it). */
const suricata = (src: string, minute = 0) => `
      - at: +${minute}m
        raw:
          timestamp: "2026-11-20T09:00:00.000000+0000"
          flow_id: ${1_700_000 + minute}
          event_type: alert
          src_ip: ${src}
          dest_ip: 203.0.113.80
          proto: TCP
          alert: { signature_id: 2024897, rev: 1, signature: ET MALWARE Beacon, category: Trojan, severity: 1 }`;

describe("riposte rules test", () => {
  test("the shipped rules pass their tests, and every rule has a positive and a negative test", async () => {
    const report = await runRuleTests("rules");
    assert.deepEqual(report.problems.map(formatProblem), []);
    assert.ok(report.results.length >= 30, `${report.results.length} tests`);
    assert.ok(report.results.every((r) => r.passed));
    assert.deepEqual(report.uncovered, { positive: [], negative: [] });
    const ruleFiles = readdirSync("rules").filter((f) => f.endsWith(".yaml") && f !== "protected.yaml");
    assert.equal(ruleFiles.length, 25, "a new rule needs its tests here");
  });

  test("the CLI runs them: exit 0 and a summary", async () => {
    const { code, stdout, stderr } = await riposte("rules", "test");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^\d+ tests in \d+ files: \d+ passed, 0 failed\n$/);
    assert.equal(stderr, "");
  });

  test("a missing decision: exit 1, the test's file:line:column, what was missing and what was made", async () => {
    const dir = rulesWith({
      "ids.yaml": `tests:
  - name: beacon
    start: 2026-11-20T09:00:00Z
    events:${suricata("10.20.30.40")}
    expect:
      - rule: network-ids-internal-host-isolate
        target: { type: host, value: 10.20.30.99 }
`,
    });
    const { code, stdout, stderr } = await riposte("rules", "test", dir);
    assert.equal(code, 1);
    assert.match(stdout, /1 tests in 1 files: 0 passed, 1 failed, 1 problems/);
    const file = join(dir, "tests", "ids.yaml");
    assert.ok(stderr.includes(`${file}:2:5: test "beacon" failed`), stderr);
    assert.match(stderr, /missing: {4}network-ids-internal-host-isolate, target host 10\.20\.30\.99/);
    assert.match(
      stderr,
      /unexpected: network-ids-internal-host-isolate, playbook isolate-host, target host 10\.20\.30\.40 \(decided on event 1, line 5\)/,
    );
  });

  test("expected params: each one given must equal the decision's; a wrong one is named with what was made", async () => {
    const dir = rulesWith({
      "ids.yaml": `tests:
  - name: beacon edr
    start: 2026-11-20T09:00:00Z
    events:${suricata("10.20.30.40")}
    expect:
      - rule: network-ids-internal-host-isolate
        params: { edr: crowdstrike_falcon }
`,
    });
    const { code, stderr } = await riposte("rules", "test", dir);
    assert.equal(code, 1);
    assert.match(stderr, /missing: {4}network-ids-internal-host-isolate, params \{"edr":"crowdstrike_falcon"\}/);
    assert.match(
      stderr,
      /unexpected: network-ids-internal-host-isolate, playbook isolate-host, target host 10\.20\.30\.40, params \{"edr":"suricata_eve"\} \(decided/,
    );
    const ok = rulesWith({
      "ids.yaml": `tests:
  - name: beacon edr
    start: 2026-11-20T09:00:00Z
    events:${suricata("10.20.30.40")}
    expect:
      - rule: network-ids-internal-host-isolate
        params: { edr: suricata_eve }
`,
    });
    assert.equal((await riposte("rules", "test", ok)).code, 0);
  });

  test("an unexpected decision where none was expected", async () => {
    const { file, lines } = await problemsOf(`tests:
  - name: quiet
    start: 2026-11-20T09:00:00Z
    events:${suricata("10.20.30.40")}
    expect: []
`);
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.startsWith(`${file}:2:5: test "quiet" failed`));
    assert.match(lines[0] ?? "", /unexpected: network-ids-internal-host-isolate/);
  });

  test("outcome counts that differ", async () => {
    const { file, lines } = await problemsOf(`tests:
  - name: counts
    start: 2026-11-20T09:00:00Z
    events:${suricata("10.20.30.40")}${suricata("10.20.30.40", 5)}
    expect: [{ rule: network-ids-internal-host-isolate }]
    expect_outcomes: { suppressed: 0 }
`);
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.startsWith(`${file}:2:5: test "counts" failed`));
    assert.match(lines[0] ?? "", /outcome suppressed: 1 decision records, expected 0/);
  });

  test("YAML that does not parse", async () => {
    const { file, lines } = await problemsOf(`tests:\n  - name: x\n    events: [\n`);
    assert.ok(lines.length > 0);
    assert.match(lines[0] ?? "", new RegExp(`^${file.replace(/[.\\]/g, "\\$&")}:\\d+:\\d+: not valid YAML/JSON`));
  });

  test("a schema problem, at the line and column of the field", async () => {
    const { file, lines } = await problemsOf(`tests:
  - name: bad offset
    events:
      - at: five minutes
        raw: { event_type: alert }
    expect: []
`);
    assert.deepEqual(lines, [
      `${file}:4:9: tests.0.events.0.at: expected an offset like +5m, -30s, 90s or 0, got "five minutes"`,
    ]);
  });

  test("an event with neither raw nor normalized, and a test without expect", async () => {
    const { file, lines } = await problemsOf(`tests:
  - name: empty event
    events:
      - at: +1m
`);
    assert.ok(
      lines.includes(`${file}:4:9: tests.0.events.0: an event has either raw: or normalized:, not both or neither`),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => l.startsWith(`${file}:2:5: tests.0.expect:`)),
      lines.join("\n"),
    );
  });

  test("an event no normalizer recognises, at the event's line", async () => {
    const { file, lines } = await problemsOf(`tests:
  - name: unknown
    events:
      - raw: { hello: world }
    expect: []
`);
    assert.equal(lines.length, 1);
    assert.ok(
      lines[0]?.startsWith(`${file}:4:9: test "unknown": event 1 was not normalized: RIPOSTE_FORMAT_UNKNOWN`),
      lines[0],
    );
  });

  test("an expectation naming a rule the directory lacks, or an input rule", async () => {
    const { file, lines } = await problemsOf(`rules: [no-such-rule]
tests:
  - name: names
    events:${suricata("10.20.30.40")}
    expect:
      - rule: isolate-evrything
      - rule: signin-failed
`);
    assert.deepEqual(lines, [
      `${file}:1:9: rules: "no-such-rule" is not an enabled rule of the directory`,
      `${file}:15:9: test "names": expects rule "isolate-evrything", which is not an enabled rule of the directory`,
      `${file}:16:9: test "names": expects a decision of "signin-failed", an input rule (generate: false) that makes none of its own`,
    ]);
  });

  test("a test's lists: entries count in that test only; a list the directory lacks is refused", async () => {
    const ok = await problemsOf(`tests:
  - name: outside the listed block
    lists: { threat-intel: [203.0.113.0/28] }
    events:${suricata("198.51.100.9")}
    expect:
      - { rule: threat-intel-dst-ip-enrich-ticket, target: { type: ip, value: 203.0.113.80 } }
  - name: inside the listed block
    lists: { threat-intel: [203.0.113.0/24] }
    events:${suricata("198.51.100.9")}
    expect:
      - { rule: threat-intel-dst-ip-enrich-ticket, target: { type: ip, value: 203.0.113.80 } }
  - name: listed elsewhere
    lists: { threat-intel-block: [203.0.113.80] }
    events:${suricata("198.51.100.9")}
    expect:
      - { rule: threat-intel-dst-ip-enrich-ticket, target: { type: ip, value: 203.0.113.80 } }
      - { rule: threat-intel-block-dst-ip, target: { type: ip, value: 203.0.113.80 } }
  - name: not listed here
    events:${suricata("198.51.100.9")}
    expect: []
`);
    assert.equal(ok.lines.length, 1, ok.lines.join("\n"));
    assert.ok(ok.lines[0]?.startsWith(`${ok.file}:2:5: test "outside the listed block" failed`), ok.lines[0]);
    assert.match(ok.lines[0] ?? "", /missing: {4}threat-intel-dst-ip-enrich-ticket/);
    const bad = await problemsOf(`tests:
  - name: unknown list
    lists: { threat-intel: [203.0.113.80], no-such-list: [203.0.113.80] }
    events:${suricata("198.51.100.9")}
    expect: []
`);
    assert.deepEqual(bad.lines, [
      `${bad.file}:3:44: test "unknown list": lists: "no-such-list" is not a list of the directory (add rules/lists/no-such-list.txt)`,
    ]);
  });

  test("two tests with one name", async () => {
    const { file, lines } = await problemsOf(`tests:
  - { name: twice, events: [{ raw: "CEF:0|V|P|1|1|n|3|src=10.1.1.1" }], expect: [] }
  - { name: twice, events: [{ raw: "CEF:0|V|P|1|1|n|3|src=10.1.1.1" }], expect: [] }
`);
    assert.deepEqual(lines, [`${file}:3:7: test name "twice" is also used by test 1`]);
  });

  test("no test files: exit 1 with the reason", async () => {
    const dir = rulesWith({});
    const { code, stderr } = await riposte("rules", "test", dir);
    assert.equal(code, 1);
    assert.match(stderr, /no test files in .*tests/);
  });

  test("rules that do not load: exit 1 naming the rule file", async () => {
    const dir = rulesWith({ "ids.yaml": "tests: []\n" });
    writeFileSync(join(dir, "broken.yaml"), "id: broken\nversion: 1\n");
    const { code, stderr } = await riposte("rules", "test", dir);
    assert.equal(code, 1);
    assert.match(stderr, /RIPOSTE_RULE_INVALID: .*broken\.yaml/s);
  });
});
