/**
 * Playbook tests as code: runs the tests of `<rules dir>/playbooks/tests/*.yaml` against the playbooks of the
 * directory, through the real executor (planner, guards, ledger, run state) on an in-process bus and in-memory
 * state, with each step's connector replaced by a mock that gives the test's answers. The mock keeps the real
 * action's classification, input schema, idempotency and reverse action, so guards, retries and rollbacks behave as
 * in production; retries do not wait. A test passes when the steps ended in the order and with the statuses it
 * expects, and the run ended as it expects. Every problem names file:line:column.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { z } from "zod";
import type { PlaybookFile } from "../../schemas/index.ts";
import {
  PlaybookTestFile,
  targetKey,
  type ApprovalAnswer,
  type Decision,
  type MockAnswer,
  type PlaybookTest,
} from "../../schemas/index.ts";
import {
  CONNECTORS,
  Executor,
  Guards,
  defaultGuardSettings,
  httpError,
  runIdOf,
  type ConnectorDescriptor,
  type RunDoc,
} from "../executor/index.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { loadPlaybooks } from "../shared/rulefiles.ts";
import { MemoryState } from "../shared/state/index.ts";
import { parseWithPositions, type FileProblem, type PositionedDoc } from "../shared/yaml-positions.ts";

/** The tests' clock: every reading is one millisecond later, so the order steps ended in is exact. */
const START = Date.parse("2026-01-01T00:00:00Z");

export interface PlaybookTestResult {
  readonly file: string;
  readonly name: string;
  readonly playbook: string;
  readonly passed: boolean;
}

export interface PlaybookTestReport {
  readonly files: number;
  readonly results: readonly PlaybookTestResult[];
  readonly problems: readonly FileProblem[];
  /** Playbooks of the directory no passing test runs. */
  readonly untested: readonly string[];
}

/** The test files of a rules directory, sorted; none when it has no playbooks/tests/ folder. */
export async function playbookTestFiles(rulesDir: string): Promise<string[]> {
  const dir = join(rulesDir, "playbooks", "tests");
  try {
    return (await readdir(dir))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

const shown = (path: string) => {
  const r = relative(process.cwd(), path);
  return r && !r.startsWith("..") ? r : path;
};

/** The error a mocked failure throws, as the real connector's HTTP layer would. */
function failure(a: MockAnswer, connector: string): RiposteError | undefined {
  if (a.timeout) return new RiposteError("RIPOSTE_CONNECTOR_TIMEOUT", `${connector}: the call timed out (mocked)`);
  if (a.error) return new RiposteError(a.error, `${connector}: ${a.error} (mocked)`);
  if (a.http !== undefined) {
    const headers = new Headers(a.retry_after !== undefined ? { "retry-after": String(a.retry_after) } : {});
    return httpError(connector, { status: a.http, body: "mocked", headers }, "call");
  }
  return undefined;
}

/**
 * One mock connector per step of the playbook (`mock.<step>`), with the real connector's actions: each call takes
 * the step's next answer. Calls are counted by step (and `<step>.rollback` for the reverse action).
 */
function mocksFor(
  pb: PlaybookFile,
  answers: PlaybookTest["answers"],
  calls: Map<string, number>,
  unconfigured: ReadonlySet<string> = new Set(),
): { connectors: ConnectorDescriptor[]; playbook: PlaybookFile } {
  const connectors: ConnectorDescriptor[] = [];
  const steps = pb.steps.map((step) => {
    const real = CONNECTORS.find((c) => c.name === step.connector);
    if (!real) return step;
    const name = `mock.${step.id}`;
    const actions = Object.fromEntries(
      Object.entries(real.actions).map(([actionName, a]) => {
        const key = actionName === step.action ? step.id : `${step.id}.rollback`;
        return [
          actionName,
          {
            classification: a.classification,
            idempotent: a.idempotent,
            description: a.description,
            input: a.input,
            ...(a.reverse !== undefined ? { reverse: a.reverse } : {}),
            ...(a.lifts !== undefined ? { lifts: a.lifts } : {}),
            ...(a.preview ? { preview: a.preview.bind(a) } : {}),
            ...(a.sample ? { sample: a.sample.bind(a) } : {}),
            run: async () => {
              const n = calls.get(key) ?? 0;
              calls.set(key, n + 1);
              const given = answers[key];
              const list = given === undefined ? [{}] : Array.isArray(given) ? given : [given];
              const answer = list[Math.min(n, list.length - 1)] as MockAnswer;
              const err = failure(answer, real.name);
              if (err) throw err;
              return answer.output ?? {};
            },
          },
        ];
      }),
    );
    connectors.push({
      name,
      title: `${real.title} (mocked)`,
      credentials: [],
      // An unconfigured step's mock is a connector without configuration: its steps run dry.
      local: !unconfigured.has(step.id),
      client: () => ({}),
      actions,
    });
    return { ...step, connector: name };
  });
  return { connectors, playbook: { ...pb, steps } };
}

/** The playbook with the on_expiry a test gives its gated steps instead of their own. */
function withExpiry(pb: PlaybookFile, approvals: PlaybookTest["approvals"]): PlaybookFile {
  const steps = pb.steps.map((step) => {
    const a = approvals[step.id];
    if (typeof a === "string" || a?.on_expiry === undefined || !step.approval) return step;
    return { ...step, approval: { ...step.approval, on_expiry: a.on_expiry } };
  });
  return { ...pb, steps };
}

/** The steps of a run as the test lists them: `{id: status}` in the order they ended (waiting ones last). */
function endedSteps(run: RunDoc): Array<Record<string, string>> {
  return Object.entries(run.steps)
    .filter(([, s]) => s.state !== "pending" && s.state !== "running")
    .sort(([, a], [, b]) => (a.finished ?? Infinity) - (b.finished ?? Infinity))
    .map(([id, s]) => ({ [id]: s.state === "waiting_approval" ? "awaiting_approval" : (s.status ?? s.state) }));
}

const show = (steps: ReadonlyArray<Record<string, string>>) =>
  steps.map((s) => Object.entries(s).map(([k, v]) => `${k}: ${v}`)[0]).join(", ") || "(none)";

async function runTest(
  playbooks: ReadonlyMap<string, PlaybookFile>,
  file: string,
  doc: PositionedDoc,
  index: number,
  test: PlaybookTest,
  problems: FileProblem[],
): Promise<boolean> {
  const here = (...path: PropertyKey[]) => ({ file, ...doc.at(["tests", index, ...path]) });
  const label = `test "${test.name}"`;
  const pb = playbooks.get(test.playbook);
  if (!pb) {
    problems.push({
      ...here("playbook"),
      message: `${label}: no playbook "${test.playbook}" in the directory (known: ${[...playbooks.keys()].join(", ")})`,
    });
    return false;
  }
  const stepIds = new Set(pb.steps.map((s) => s.id));
  let broken = false;
  for (const key of Object.keys(test.answers)) {
    if (!stepIds.has(key.replace(/\.rollback$/, ""))) {
      problems.push({ ...here("answers", key), message: `${label}: answers: "${key}" is not a step of ${pb.id}` });
      broken = true;
    }
  }
  test.unconfigured.forEach((id, i) => {
    if (!stepIds.has(id)) {
      problems.push({
        ...here("unconfigured", i),
        message: `${label}: unconfigured: "${id}" is not a step of ${pb.id}`,
      });
      broken = true;
    }
  });
  for (const [key, answer] of Object.entries(test.approvals)) {
    const step = pb.steps.find((s) => s.id === key);
    if (!step) {
      problems.push({ ...here("approvals", key), message: `${label}: approvals: "${key}" is not a step of ${pb.id}` });
      broken = true;
    } else if (typeof answer !== "string" && answer.on_expiry && !step.approval) {
      problems.push({
        ...here("approvals", key, "on_expiry"),
        message: `${label}: approvals: step "${key}" has no approval gate of its own (approval: in the playbook) whose on_expiry could change`,
      });
      broken = true;
    }
  }
  if (broken) return false;

  let clock = START;
  const now = () => ++clock;
  const calls = new Map<string, number>();
  const mocked = mocksFor(withExpiry(pb, test.approvals), test.answers, calls, new Set(test.unconfigured));
  const bus = new MemoryBus();
  const topics = topicNames("playbook-test");
  const state = new MemoryState({ now });
  try {
    await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
    const dead: string[] = [];
    await bus.subscribe({
      groupId: "dlq",
      topics: [topics.dlq],
      handler: async (b) => void dead.push(...b.map((m) => String(m.value))),
    });
    const guards = new Guards({ state, prefix: "playbook-test", settings: defaultGuardSettings(), now });
    const ex = new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[pb.id, mocked.playbook]]),
      connectors: mocked.connectors,
      connectorConfig: {},
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "playbook-test",
      guards,
      now,
      sleep: async () => undefined,
    });
    if (test.kill_switch) await guards.setKillSwitch(true, `playbook test ${test.name}`);
    const id = `playbook-test-${index}`;
    const decision: Decision = {
      id,
      outcome: "respond",
      time: START,
      alert: {
        uid: `alert-${index}`,
        fingerprint: `fp-${index}`,
        entity_key: targetKey(test.decision.target),
        class_uid: 2004,
        title: test.name,
        source: "playbook-test",
        severity_id: 4,
        time: START,
      },
      rule: { id: test.decision.rule, version: 1, hash: "0".repeat(64), name: test.decision.rule },
      playbook: pb.id,
      target: test.decision.target,
      params: test.decision.params,
      approval: test.decision.approval,
    };
    await ex.handle([
      {
        topic: topics.decisions,
        partition: 0,
        offset: "0",
        key: targetKey(test.decision.target),
        value: Buffer.from(JSON.stringify(decision)),
        headers: {},
        timestamp: START,
      },
    ]);
    // The verdicts: each gated step that waits and has one gets it, in the order the steps wait, until none is left.
    const given = new Set<string>();
    for (;;) {
      const waiting = await ex.runs.get(runIdOf(id));
      const next = Object.entries(waiting?.steps ?? {}).find(
        ([sid, s]) => s.state === "waiting_approval" && s.approval_id && test.approvals[sid] && !given.has(sid),
      );
      if (!next) break;
      const [sid, s] = next;
      given.add(sid);
      const answer = test.approvals[sid] as ApprovalAnswer;
      const verdict = typeof answer === "string" ? answer : answer.verdict;
      const approvalId = s.approval_id as string;
      if (verdict === "expire") {
        const doc = await ex.gates.store.get(approvalId);
        clock = Math.max(clock, doc?.pending.expires_at ?? clock);
        await ex.gates.sweep();
        continue;
      }
      const decided = await ex.gates.store.decide(approvalId, {
        verdict: verdict === "approve" ? "approved" : "denied",
        by: (typeof answer === "string" ? undefined : answer.by) ?? "playbook-test",
        ...(typeof answer !== "string" && answer.comment !== undefined ? { comment: answer.comment } : {}),
      });
      if (!decided.ok) throw new RiposteError("RIPOSTE_INTERNAL", `approval of ${sid}: ${decided.reason}`);
      await ex.handleApprovals([
        {
          topic: topics.approvals,
          partition: 0,
          offset: "0",
          key: approvalId,
          value: Buffer.from(JSON.stringify(decided.verdict)),
          headers: {},
          timestamp: clock,
        },
      ]);
    }
    const run = await ex.runs.get(runIdOf(id));
    if (!run) {
      problems.push({
        ...here("name"),
        message: `${label}: the executor made no run${dead.length ? ` (dead-lettered: ${dead.join("; ").slice(0, 300)})` : ""}`,
      });
      return false;
    }
    let passed = true;
    const fail = (path: PropertyKey[], message: string) => {
      problems.push({ ...here(...path), message: `${label}: ${message}` });
      passed = false;
    };
    if (run.status !== test.expect.status)
      fail(["expect", "status"], `the run ended ${run.status}, expected ${test.expect.status}`);
    const got = endedSteps(run);
    if (JSON.stringify(got) !== JSON.stringify(test.expect.steps))
      fail(["expect", "steps"], `steps ended as ${show(got)}; expected ${show(test.expect.steps)}`);
    for (const sid of Object.keys(test.approvals))
      if (!given.has(sid)) fail(["approvals", sid], `step ${sid} never waited for approval: its verdict was not used`);
    for (const [step, n] of Object.entries(test.expect.calls ?? {})) {
      const made = calls.get(step) ?? 0;
      if (made !== n) fail(["expect", "calls", step], `${step} called its connector ${made} times, expected ${n}`);
    }
    if (test.expect.rollback) {
      const undone = Object.entries(run.steps)
        .filter(([, s]) => s.rollback !== undefined)
        .sort(([, a], [, b]) => (a.finished ?? 0) - (b.finished ?? 0))
        .reverse()
        .map(([sid, s]) => ({ [sid]: s.rollback?.status ?? "" }));
      if (JSON.stringify(undone) !== JSON.stringify(test.expect.rollback))
        fail(["expect", "rollback"], `rolled back ${show(undone)}; expected ${show(test.expect.rollback)}`);
    }
    return passed;
  } catch (e) {
    problems.push({ ...here("name"), message: `${label}: ${messageOf(e)}` });
    return false;
  } finally {
    await bus.close();
    await state.close();
  }
}

/** Runs every playbook test of a rules directory. */
export async function runPlaybookTests(rulesDir: string): Promise<PlaybookTestReport> {
  const problems: FileProblem[] = [];
  const results: PlaybookTestResult[] = [];
  let playbooks: Map<string, PlaybookFile>;
  try {
    playbooks = await loadPlaybooks(rulesDir);
  } catch (e) {
    return {
      files: 0,
      results,
      problems: [{ file: join(rulesDir, "playbooks"), line: 1, column: 1, message: messageOf(e) }],
      untested: [],
    };
  }
  const files = await playbookTestFiles(rulesDir);
  for (const path of files) {
    const file = shown(path);
    const parsed = parseWithPositions(file, await readFile(path, "utf8"));
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const checked = PlaybookTestFile.safeParse(parsed.doc.value);
    if (!checked.success) {
      for (const issue of checked.error.issues)
        problems.push({ file, ...parsed.doc.at(issue.path), message: issueText(issue) });
      continue;
    }
    for (const [i, test] of checked.data.tests.entries()) {
      const passed = await runTest(playbooks, file, parsed.doc, i, test, problems);
      results.push({ file, name: test.name, playbook: test.playbook, passed });
    }
  }
  const tested = new Set(results.filter((r) => r.passed).map((r) => r.playbook));
  return { files: files.length, results, problems, untested: [...playbooks.keys()].filter((id) => !tested.has(id)) };
}

const issueText = (i: z.core.$ZodIssue) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`;
