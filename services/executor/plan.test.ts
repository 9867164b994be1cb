/** The planner, pure: which steps are ready, skipped, waiting; for_each items; rollback order; how a run ends. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PlaybookFile } from "../../schemas/index.ts";
import { planRun, preparePlaybook, playbookHash, type PlanInput } from "./plan.ts";
import type { StepRun } from "./run-schema.ts";

const step = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  connector: "webhook",
  action: "post",
  params: { title: id },
  ...extra,
});

const book = (steps: unknown[]) => preparePlaybook(PlaybookFile.parse({ id: "p", version: 1, name: "p", steps }));

const data = {
  target: { type: "host", value: "web-01" },
  params: { recipients: ["a@example.com", "b@example.com", "a@example.com"], one: "c@example.com" },
  decision: { id: "d1", score: 70 },
};

function plan(pb: ReturnType<typeof book>, steps: Record<string, StepRun> = {}, over: Partial<PlanInput> = {}) {
  return planRun({
    playbook: pb,
    data,
    steps,
    gates: new Map(),
    reverseOf: (s) => (s.id.startsWith("contain") ? "lift_containment" : undefined),
    maxItems: 10,
    ...over,
  });
}

const done = (finished: number, output: Record<string, unknown> = {}, status: StepRun["status"] = "succeeded") =>
  ({
    state: status === "succeeded" ? "succeeded" : "failed",
    status,
    attempts: 1,
    output,
    finished,
    items: [{ action_id: `a${finished}`, status, attempts: 1, latency_ms: 1, request: { host: "web-01" } }],
  }) satisfies StepRun;
const ids = (p: ReturnType<typeof plan>) => p.ready.map((r) => r.step.id);

describe("planner", () => {
  test("a plain list runs in order: each step waits for the one before, even a failed one", () => {
    const pb = book([step("a", { on_failure: "continue" }), step("b"), step("c")]);
    assert.deepEqual(ids(plan(pb)), ["a"]);
    assert.deepEqual(ids(plan(pb, { a: { state: "running", attempts: 0 } })), []);
    assert.deepEqual(ids(plan(pb, { a: done(1, {}, "failed") })), ["b"]);
    assert.equal(plan(pb, { a: done(1), b: done(2), c: done(3) }).status, "succeeded");
  });

  test("steps without a dependency between them are ready together; a join waits for all", () => {
    const pb = book([
      step("lookup", { needs: [] }),
      step("ticket", { needs: [] }),
      step("contain", { needs: ["lookup"] }),
      step("notify", { needs: ["contain", "ticket"] }),
    ]);
    assert.deepEqual(ids(plan(pb)), ["lookup", "ticket"]);
    const ticket: StepRun = { state: "running", attempts: 0 };
    assert.deepEqual(ids(plan(pb, { lookup: done(1), ticket })), ["contain"]);
    assert.deepEqual(ids(plan(pb, { lookup: done(1), contain: done(2), ticket })), []);
    assert.deepEqual(ids(plan(pb, { lookup: done(1), contain: done(2), ticket: done(3) })), ["notify"]);
  });

  test("a step planned from a dry run runs dry: items or params from a dry-run output, a condition true only with it", () => {
    const dry = (finished: number, output: Record<string, unknown> = {}): StepRun => ({
      state: "succeeded",
      status: "dry_run",
      attempts: 0,
      output,
      finished,
    });
    const score = (id: string) => ({
      fact: "steps",
      path: `$.${id}.output.score`,
      operator: "greaterThanInclusive",
      value: 90,
    });
    const wasDry = (id: string) => ({ fact: "steps", path: `$.${id}.status`, operator: "equal", value: "dry_run" });
    const pb = book([
      step("a", { needs: [] }),
      step("b", { needs: [] }),
      step("block", { needs: ["a", "b"], if: { any: [score("a"), score("b"), { all: [wasDry("a"), wasDry("b")] }] } }),
      step("each", { needs: ["a"], for_each: "steps.a.output.copies", params: { copy: "{{item}}" } }),
      step("says", { needs: ["a"], params: { title: "{{steps.a.output.score}}" } }),
      step("plain", { needs: ["a"] }),
    ]);
    const readyOf = (p: ReturnType<typeof plan>, id: string) => p.ready.find((r) => r.step.id === id);
    const dryFrom = (p: ReturnType<typeof plan>, id: string) => {
      const r = readyOf(p, id);
      return r?.kind === "run" ? r.dryFrom : undefined;
    };
    // Both lookups dry: the block holds only through their dry_run status, so it is planned dry.
    const bothDry = plan(pb, { a: dry(1, { copies: ["x", "y"], score: 0 }), b: dry(2) });
    assert.deepEqual(dryFrom(bothDry, "block"), ["a", "b"]);
    assert.deepEqual(dryFrom(bothDry, "each"), ["a"]);
    const each = readyOf(bothDry, "each");
    assert.equal(each?.kind === "run" ? each.items.length : 0, 2);
    assert.deepEqual(dryFrom(bothDry, "says"), ["a"]);
    assert.equal(dryFrom(bothDry, "plain"), undefined, "needing a dry step without reading it is not planning from it");
    // One lookup answered live with a bad score: the block holds without the dry one, and runs as configured.
    const live = plan(pb, { a: dry(1, { copies: [] }), b: done(2, { score: 95 }) });
    assert.equal(dryFrom(live, "block"), undefined);
    // One answered clean, the other dry: neither says bad, not both are dry: no block.
    const clean = plan(pb, { a: dry(1, { copies: [] }), b: done(2, { score: 3 }) });
    assert.equal(readyOf(clean, "block"), undefined);
    assert.equal(clean.settled.find((x) => x.step === "block")?.status, "skipped_condition");
  });

  test("params template from earlier steps' outputs", () => {
    const pb = book([
      step("lookup", { needs: [] }),
      step("contain", { needs: ["lookup"], params: { device: "{{steps.lookup.output.device_id}}" } }),
    ]);
    const p = plan(pb, { lookup: done(1, { device_id: "dev-9" }) });
    const r = p.ready[0];
    assert.equal(r?.kind, "run");
    assert.deepEqual(r.kind === "run" && r.items[0]?.params, { value: { device: "dev-9" } });
  });

  test("if on an earlier step's output: false skips the step and the steps that need it, not the others", () => {
    const cond = { fact: "steps", path: "$.lookup.output.confidence", operator: "greaterThan", value: 80 };
    const pb = book([
      step("lookup", { needs: [] }),
      step("contain", { needs: ["lookup"], if: cond, on_failure: "continue" }),
      step("tell", { needs: ["contain"] }),
      step("ticket", { needs: ["lookup"] }),
    ]);
    const low = plan(pb, { lookup: done(1, { confidence: 40 }) });
    assert.deepEqual(ids(low), ["ticket"]);
    assert.deepEqual(
      low.settled.map((s) => [s.step, s.status]),
      [
        ["contain", "skipped_condition"],
        ["tell", "skipped_dependency"],
      ],
    );
    assert.match(low.settled[1]?.reason ?? "", /needs contain, which did not run \(skipped_condition\)/);
    assert.deepEqual(ids(plan(pb, { lookup: done(1, { confidence: 95 }) })), ["contain", "ticket"]);
  });

  test("a failed step with on_failure: continue skips what needs it; the run ends failed", () => {
    const pb = book([
      step("a", { needs: [], on_failure: "continue" }),
      step("b", { needs: ["a"] }),
      step("c", { needs: [] }),
    ]);
    const p = plan(pb, { a: done(1, {}, "failed"), c: done(2) });
    assert.deepEqual(
      p.settled.map((s) => [s.step, s.status]),
      [["b", "skipped_dependency"]],
    );
    assert.equal(p.status, "failed");
  });

  test("on_failure: abort skips every step not started; running ones finish first", () => {
    const pb = book([step("a", { needs: [] }), step("b", { needs: [] }), step("c", { needs: ["a"] }), step("d")]);
    const p = plan(pb, { a: done(1, {}, "refused_budget"), b: { state: "running", attempts: 0 } });
    assert.deepEqual(p.aborted, { by: "a", rollback: false });
    assert.deepEqual(
      p.settled.map((s) => s.status),
      ["skipped_aborted", "skipped_aborted"],
    );
    assert.equal(p.status, "running");
    assert.equal(plan(pb, { a: done(1, {}, "failed"), b: done(2) }).status, "aborted");
  });

  test("for_each: one action per distinct item with {{item}}; a single value is a list of one", () => {
    const pb = book([
      step("tell", { for_each: "params.recipients", params: { to: "{{item}}", about: "{{target.value}}" } }),
    ]);
    const r = plan(pb).ready[0];
    assert.ok(r?.kind === "run");
    assert.deepEqual(
      r.items.map((i) => [i.key, i.params]),
      [
        ["a@example.com", { value: { to: "a@example.com", about: "web-01" } }],
        ["b@example.com", { value: { to: "b@example.com", about: "web-01" } }],
      ],
    );
    const one = plan(book([step("tell", { for_each: "params.one", params: { to: "{{item}}" } })])).ready[0];
    assert.ok(one?.kind === "run");
    assert.deepEqual(
      one.items.map((i) => i.key),
      ["c@example.com"],
    );
  });

  test("for_each over an earlier output with {{item.field}}; too many items fail the step, nothing is planned", () => {
    const pb = book([
      step("find", { needs: [] }),
      step("purge", { needs: ["find"], for_each: "steps.find.output.mailboxes", params: { mb: "{{item.id}}" } }),
    ]);
    const boxes = (n: number) => Array.from({ length: n }, (_v, i) => ({ id: `mb${i}` }));
    const r = plan(pb, { find: done(1, { mailboxes: boxes(3) }) }).ready[0];
    assert.ok(r?.kind === "run");
    assert.deepEqual(
      r.items.map((i) => i.params),
      [{ value: { mb: "mb0" } }, { value: { mb: "mb1" } }, { value: { mb: "mb2" } }],
    );
    const long = plan(pb, { find: done(1, { mailboxes: boxes(11) }) });
    assert.deepEqual(long.ready, []);
    assert.equal(long.settled[0]?.error?.code, "RIPOSTE_FOR_EACH_TOO_LONG");
    assert.match(long.settled[0]?.reason ?? "", /11 items, more than the 10/);
    assert.equal(long.status, "aborted");
    const missing = plan(pb, { find: done(1, {}) });
    assert.equal(missing.settled[0]?.error?.code, "RIPOSTE_TEMPLATE_MISSING");
  });

  test("rollback: latest finished step first, only steps that acted, each with its reverse action", () => {
    const pb = book([
      step("contain-a", { needs: [] }),
      step("contain-b", { needs: [] }),
      step("notify", { needs: [] }),
      step("block", { needs: ["contain-a"], on_failure: "rollback" }),
    ]);
    const base = { "contain-a": done(1), "contain-b": done(3), notify: done(2), block: done(4, {}, "failed") };
    const first = plan(pb, base);
    assert.deepEqual(first.aborted, { by: "block", rollback: true });
    assert.equal(first.rollback?.step.id, "contain-b");
    assert.equal(first.rollback.reverse, "lift_containment");
    const undone = (s: StepRun, status: StepRun["status"] & string = "succeeded") => ({
      ...s,
      rollback: { status, items: [] },
    });
    const second = plan(pb, { ...base, "contain-b": undone(base["contain-b"]) });
    assert.equal(second.rollback?.step.id, "notify");
    assert.equal(second.rollback.reverse, undefined);
    const third = plan(pb, {
      ...base,
      "contain-b": undone(base["contain-b"]),
      notify: undone(base.notify, "skipped_no_reverse"),
    });
    assert.equal(third.rollback?.step.id, "contain-a");
    const all = {
      ...base,
      "contain-b": undone(base["contain-b"]),
      notify: undone(base.notify, "skipped_no_reverse"),
      "contain-a": undone(base["contain-a"]),
    };
    assert.equal(plan(pb, all).status, "rolled_back");
    assert.equal(plan(pb, { ...all, "contain-a": undone(base["contain-a"], "failed") }).status, "rollback_failed");
  });

  test("an approval gate: requested, then waiting (others go on), then run on approval or denied", () => {
    const pb = book([step("tell", { needs: [] }), step("contain", { needs: [] }), step("after")]);
    const gates = new Map([
      ["contain", { roles: ["approver"] as const, expires: 1, on_expiry: "deny" as const, stepId: "contain.approval" }],
    ]);
    const p = plan(pb, {}, { gates });
    assert.deepEqual(
      p.ready.map((r) => [r.step.id, r.kind]),
      [
        ["tell", "run"],
        ["contain", "request_approval"],
      ],
    );
    const waiting = plan(pb, { contain: { state: "waiting_approval", attempts: 0 }, tell: done(1) }, { gates });
    assert.deepEqual(waiting.ready, []);
    assert.equal(waiting.status, "waiting_approval");
    const approval = (verdict: "approved" | "denied") => ({ id: "x", verdict, by: "amy", at: 1 });
    const ok = plan(
      pb,
      { contain: { state: "pending", attempts: 0, approval: approval("approved") }, tell: done(1) },
      { gates },
    );
    assert.deepEqual(
      ok.ready.map((r) => r.kind),
      ["run"],
    );
    const no = plan(
      pb,
      { contain: { state: "pending", attempts: 0, approval: approval("denied") }, tell: done(1) },
      { gates },
    );
    assert.deepEqual(
      no.ready.map((r) => r.kind),
      ["deny"],
    );
    const denied = plan(pb, { contain: { ...done(2), state: "skipped", status: "denied" }, tell: done(1) }, { gates });
    assert.deepEqual(
      denied.settled.map((s) => [s.step, s.status]),
      [["after", "skipped_denied"]],
    );
    assert.equal(denied.status, "denied");
  });

  test("the hash is the canonical playbook's: key order does not change it, content does", () => {
    const a = PlaybookFile.parse({ id: "p", version: 1, name: "p", steps: [step("a")] });
    const b = PlaybookFile.parse({ name: "p", steps: [{ ...step("a") }], version: 1, id: "p" });
    assert.equal(playbookHash(a), playbookHash(b));
    assert.notEqual(playbookHash(a), playbookHash({ ...a, version: 2 }));
    assert.match(playbookHash(a), /^[0-9a-f]{64}$/);
  });
});

describe("playbook graph validation", () => {
  const issues = (steps: unknown[]) => {
    const r = PlaybookFile.safeParse({ id: "p", version: 1, name: "p", steps });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  test("unknown needs, cycles, duplicate ids and reading a step not waited for are refused", () => {
    assert.deepEqual(issues([step("a", { needs: ["nope"] })]), [
      'steps.0.needs.0: needs "nope", which is not a step of this playbook (steps: a)',
    ]);
    assert.deepEqual(issues([step("a", { needs: ["b"] }), step("b", { needs: ["a"] })]), [
      "steps.0.needs: steps wait for each other in a cycle: a → b → a",
    ]);
    assert.deepEqual(issues([step("a"), step("a")]), ['steps.1.id: step id "a" is used twice']);
    assert.deepEqual(
      issues([step("a", { needs: [] }), step("b", { needs: [], params: { x: "{{steps.a.output.x}}" } })]),
      ['steps.1: reads steps.a but does not wait for it: add "a" to needs'],
    );
    assert.deepEqual(issues([step("a"), step("b", { params: { x: "{{steps.a.output.x}}" } })]), []);
    assert.deepEqual(issues([step("a", { for_each: "recipients" })]).length, 1);
  });
});
