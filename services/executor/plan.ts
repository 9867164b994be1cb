/**
 * Planning a playbook run, pure: given the playbook, the decision's data and the steps' states so far, which steps
 * are ready (with what each would send, per for_each item), which are skipped (their `if` is false, a step they
 * need did not succeed, the run was aborted), which wait for approval, whether the run must roll back, and how the
 * run ends. The executor (executor.ts) does only the I/O around it: claims, vendor calls, records.
 *
 * The graph (schemas/rules.ts PlaybookStep.needs): a step without `needs` waits for the step before it (a plain
 * list runs in order, as playbooks always did); such an implicit wait only orders, so the step runs whatever the
 * step before did, unless that one was denied approval (or skipped because of a denial: a denial stops what comes
 * after it). Explicit `needs` are data dependencies: the step runs only when every step it needs succeeded.
 */
import type { PlaybookFile, PlaybookStep } from "../../schemas/index.ts";
import { dependenciesOf } from "../../schemas/index.ts";
import { compileCondition, type Predicate } from "../correlator/compile.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import { canonicalJson, sha256 } from "../shared/ids.ts";
import { renderAll, valueAt } from "../shared/template.ts";
import type { Gate } from "./approval-gates.ts";
import type { ItemRun, RunStatus, StepRun, StepStatus } from "./run-schema.ts";

/** A playbook ready to plan: its graph and its compiled conditions, and its content hash. */
export interface PreparedPlaybook {
  readonly file: PlaybookFile;
  /** sha256 of the canonical JSON of the parsed playbook: what every audit record and run names. */
  readonly hash: string;
  readonly deps: ReadonlyArray<{ readonly ids: readonly string[]; readonly implicit: boolean }>;
  readonly conditions: ReadonlyArray<Predicate | undefined>;
  /** Per step, the earlier steps whose output it reads: in its `if`, its `for_each`, its params. */
  readonly reads: ReadonlyArray<StepReads>;
  /** Whether a step reads the decision's incident (so the executor looks it up). */
  readonly readsIncident: boolean;
}

/** The content hash of a parsed playbook. */
export function playbookHash(pb: PlaybookFile): string {
  return sha256(canonicalJson(pb));
}

/** Compiles a playbook's conditions; throws RIPOSTE_RULE_INVALID naming the step of one that cannot be evaluated. */
export function preparePlaybook(file: PlaybookFile): PreparedPlaybook {
  const conditions = file.steps.map((s) => {
    if (!s.if) return undefined;
    try {
      return compileCondition(s.if, new Map());
    } catch (e) {
      throw new RiposteError("RIPOSTE_RULE_INVALID", `playbook ${file.id} step ${s.id}: if: ${messageOf(e)}`);
    }
  });
  const text = JSON.stringify(file.steps);
  return {
    file,
    hash: playbookHash(file),
    deps: file.steps.map((_s, i) => dependenciesOf(file.steps, i)),
    conditions,
    reads: file.steps.map(readsOf),
    readsIncident: /\{\{\s*incident\b|"fact":"incident"|"for_each":"incident\./.test(text),
  };
}

/** The steps a step reads the output of: in its condition, and in its for_each or params (its items, its request). */
export interface StepReads {
  readonly condition: readonly string[];
  readonly items: readonly string[];
}

/** The step id of a `steps` fact path (`$.find.output.copies` → find). */
const stepOfPath = (path: unknown): string | undefined =>
  typeof path === "string" ? /^\$\.?([^.[\]]+)/.exec(path)?.[1] : undefined;

function readsOf(step: PlaybookStep): StepReads {
  const condition = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      const n = node as Record<string, unknown>;
      if (n["fact"] === "steps") {
        const id = stepOfPath(n["path"]);
        if (id) condition.add(id);
      }
      Object.values(n).forEach(walk);
    }
  };
  walk(step.if);
  const items = new Set<string>();
  const each = /^steps\.([^.]+)/.exec(step.for_each ?? "")?.[1];
  if (each) items.add(each);
  for (const m of JSON.stringify(step.params ?? {}).matchAll(/\{\{\s*steps\.([^.}\s]+)/g)) items.add(m[1] as string);
  return { condition: [...condition], items: [...items] };
}

/** One action a ready step would send: the step, or one item of its for_each. */
export interface PlannedItem {
  /** The item as text (its action id's third part); absent for a step without for_each. */
  readonly key?: string;
  readonly item?: unknown;
  readonly params: { readonly value: Record<string, unknown> } | { readonly error: unknown };
}

/** What to do with a ready step. */
export type ReadyStep =
  | {
      readonly kind: "run";
      readonly step: PlaybookStep;
      readonly items: readonly PlannedItem[];
      /**
       * The dry-run steps this step was planned from (their sample outputs, their dry_run status): it runs dry
       * too, whatever its connector, so that nothing real is sent on the strength of an answer no vendor gave.
       */
      readonly dryFrom?: readonly string[];
    }
  /** Behind an approval gate with no verdict yet: record the pending approval. */
  | { readonly kind: "request_approval"; readonly step: PlaybookStep; readonly gate: Gate }
  /** Its approval was denied (or expired with on_expiry: deny): record that, run nothing. */
  | { readonly kind: "deny"; readonly step: PlaybookStep };

/** A step settled without any action: skipped, or failed before anything could be sent (a bad for_each). */
export interface Settled {
  readonly step: string;
  readonly state: "skipped" | "failed" | "succeeded";
  readonly status: StepStatus;
  readonly reason: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The reverse action of one step to run during a rollback. */
export interface PlannedRollback {
  readonly step: PlaybookStep;
  /** The connector's reverse action, or undefined when the action declares none (nothing to undo). */
  readonly reverse: string | undefined;
  /** The step's actions that succeeded, each undone with the params it was sent with. */
  readonly items: readonly ItemRun[];
}

export interface Plan {
  readonly ready: readonly ReadyStep[];
  /** Steps that settle now without an action (applied before `ready` is run; `ready` already accounts for them). */
  readonly settled: readonly Settled[];
  readonly running: readonly string[];
  readonly waiting: readonly string[];
  /** The step whose failure stopped the run, and whether it asked for a rollback. */
  readonly aborted?: { readonly by: string; readonly rollback: boolean };
  /** The next reverse action to run (one at a time, latest step first). */
  readonly rollback?: PlannedRollback;
  /** The run's status after this plan: open while anything runs, waits or is ready; terminal otherwise. */
  readonly status: RunStatus;
}

export interface PlanInput {
  readonly playbook: PreparedPlaybook;
  /** The decision's template data and facts: target, params, alert, decision, rule, incident. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly steps: Readonly<Record<string, StepRun>>;
  /** The approval gates of this decision's steps (a step's own, or the decision's `approval: required`). */
  readonly gates: ReadonlyMap<string, Gate>;
  /** The reverse action each step's action declares (ActionDescriptor.reverse). */
  readonly reverseOf: (step: PlaybookStep) => string | undefined;
  /** Most items a for_each may have. */
  readonly maxItems: number;
}

const SETTLED = new Set<StepRun["state"]>(["succeeded", "failed", "skipped"]);
/** Statuses that stop the step after an implicit wait (a denial stops what comes after it). */
const DENIED = new Set<StepStatus | undefined>(["denied", "expired", "skipped_denied"]);

/** The state a settled step's status puts it in. */
export function stateOf(status: StepStatus): "succeeded" | "failed" | "skipped" {
  switch (status) {
    case "succeeded":
    case "dry_run":
    case "skipped_lease":
    case "skipped_duplicate":
      return "succeeded";
    case "skipped_condition":
    case "skipped_dependency":
    case "skipped_denied":
    case "skipped_aborted":
    case "skipped_no_reverse":
    case "denied":
    case "expired":
    case "paused":
      // Paused: held back by the kill switch; not a failure (nothing aborts), but nothing that needs it runs.
      return "skipped";
    default:
      return "failed";
  }
}

/** The template data later steps see of the settled steps: `steps.<id>.output`, `steps.<id>.status`. */
export function stepsData(steps: Readonly<Record<string, StepRun>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(steps)) {
    if (SETTLED.has(s.state)) out[id] = { status: s.status, state: s.state, output: s.output ?? {} };
  }
  return out;
}

/** An item's text: itself for a string or number, canonical JSON for anything else. */
export function itemKey(item: unknown): string {
  return typeof item === "string"
    ? item
    : typeof item === "number" || typeof item === "boolean"
      ? String(item)
      : canonicalJson(item);
}

/** The items of a for_each, or why there are none to run. */
function itemsOf(
  step: PlaybookStep,
  data: Record<string, unknown>,
  max: number,
): { items: unknown[] } | { error: RiposteError } {
  const path = step.for_each as string;
  const v = valueAt(data, path);
  if (v === undefined || v === null)
    return { error: new RiposteError("RIPOSTE_TEMPLATE_MISSING", `for_each: ${path} is missing`) };
  const list = Array.isArray(v) ? v : [v];
  const seen = new Set<string>();
  const items = list.filter((x) => {
    const k = itemKey(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (items.length > max)
    return {
      error: new RiposteError(
        "RIPOSTE_FOR_EACH_TOO_LONG",
        `for_each: ${path} has ${items.length} items, more than the ${max} a step may act on (RIPOSTE_FOR_EACH_MAX): nothing was sent; act on them by hand or raise the limit`,
      ),
    };
  return { items };
}

/** Renders one step's params for each of its actions. */
function planItems(step: PlaybookStep, data: Record<string, unknown>, max: number): PlannedItem[] | RiposteError {
  const render = (d: unknown): PlannedItem["params"] => {
    try {
      return { value: renderAll(step.params, d) };
    } catch (e) {
      return { error: e };
    }
  };
  if (step.for_each === undefined) return [{ params: render(data) }];
  const r = itemsOf(step, data, max);
  if ("error" in r) return r.error;
  return r.items.map((item) => ({ key: itemKey(item), item, params: render({ ...data, item }) }));
}

/**
 * The plan of a run from its steps' states. Skips cascade within one call (a skipped step's dependents are
 * skipped too), so `ready` is final for the states given.
 */
export function planRun(input: PlanInput): Plan {
  const { playbook, gates } = input;
  const steps = playbook.file.steps;
  const states = new Map<string, StepRun>(Object.entries(input.steps));
  const stateOfStep = (id: string): StepRun => states.get(id) ?? { state: "pending", attempts: 0 };
  const settled: Settled[] = [];
  const settle = (s: Settled) => {
    settled.push(s);
    states.set(s.step, { ...stateOfStep(s.step), state: s.state, status: s.status, reason: s.reason });
  };

  // The step whose failure aborts the run: the first (by finish time) failed step that does not continue.
  const abortedBy = (): Plan["aborted"] => {
    let first: { step: PlaybookStep; at: number } | undefined;
    for (const s of steps) {
      const st = stateOfStep(s.id);
      if (st.state !== "failed" || s.on_failure === "continue") continue;
      const at = st.finished ?? 0;
      if (!first || at < first.at) first = { step: s, at };
    }
    return first && { by: first.step.id, rollback: first.step.on_failure === "rollback" };
  };

  let ready: ReadyStep[] = [];
  let aborted = abortedBy();
  for (let changed = true; changed;) {
    changed = false;
    ready = [];
    for (const [i, step] of steps.entries()) {
      const st = stateOfStep(step.id);
      if (st.state !== "pending") continue;
      if (aborted) {
        settle({
          step: step.id,
          state: "skipped",
          status: "skipped_aborted",
          reason: `not started: step ${aborted.by} failed and its on_failure is ${aborted.rollback ? "rollback" : "abort"}`,
        });
        changed = true;
        continue;
      }
      const deps = playbook.deps[i] as PreparedPlaybook["deps"][number];
      const depStates = deps.ids.map((d) => [d, stateOfStep(d)] as const);
      if (depStates.some(([, d]) => !SETTLED.has(d.state))) continue;
      const blocker = depStates.find(([, d]) => (deps.implicit ? DENIED.has(d.status) : d.state !== "succeeded"));
      if (blocker) {
        const [id, d] = blocker;
        settle({
          step: step.id,
          state: "skipped",
          status: DENIED.has(d.status) ? "skipped_denied" : "skipped_dependency",
          reason: `${deps.implicit ? "waits for" : "needs"} ${id}, which ${d.state === "failed" ? "failed" : "did not run"} (${d.status ?? d.state})`,
        });
        changed = true;
        continue;
      }
      const data = { ...input.data, steps: stepsData(Object.fromEntries(states)) };
      const cond = playbook.conditions[i];
      const reads = playbook.reads[i] as StepReads;
      const isDry = (id: string) => stateOfStep(id).status === "dry_run";
      // Planned from a dry run: items or params from a dry-run step's (sample) output; or a condition that holds
      // only with the dry-run steps' outputs (without them, as when nothing answered, it is false).
      const dryFrom = new Set(reads.items.filter(isDry));
      const dryCondition = reads.condition.filter(isDry);
      if (cond && dryCondition.length > 0) {
        const without = Object.fromEntries([...states].filter(([id]) => !dryCondition.includes(id)));
        let holdsWithout: boolean;
        try {
          holdsWithout = cond({ ...input.data, steps: stepsData(without) });
        } catch {
          holdsWithout = false;
        }
        if (!holdsWithout) for (const id of dryCondition) dryFrom.add(id);
      }
      if (cond) {
        let holds: boolean;
        try {
          holds = cond(data);
        } catch {
          holds = false;
        }
        if (!holds) {
          settle({ step: step.id, state: "skipped", status: "skipped_condition", reason: "its if condition is false" });
          changed = true;
          continue;
        }
      }
      const gate = gates.get(step.id);
      if (gate) {
        const a = st.approval;
        if (!a) {
          ready.push({ kind: "request_approval", step, gate });
          continue;
        }
        if (a.verdict !== "approved" && a.proceed !== true) {
          ready.push({ kind: "deny", step });
          continue;
        }
      }
      const items = planItems(step, data, input.maxItems);
      if (items instanceof RiposteError) {
        settle({
          step: step.id,
          state: "failed",
          status: "failed",
          reason: items.message,
          error: { code: items.code, message: items.message },
        });
        aborted = abortedBy();
        changed = true;
        continue;
      }
      if (items.length === 0) {
        settle({
          step: step.id,
          state: "succeeded",
          status: "succeeded",
          reason: `for_each: ${step.for_each} is empty`,
        });
        changed = true;
        continue;
      }
      ready.push({ kind: "run", step, items, ...(dryFrom.size > 0 ? { dryFrom: [...dryFrom] } : {}) });
    }
  }

  const running = steps.filter((s) => stateOfStep(s.id).state === "running").map((s) => s.id);
  const waiting = steps.filter((s) => stateOfStep(s.id).state === "waiting_approval").map((s) => s.id);
  const base = { ready, settled, running, waiting, ...(aborted ? { aborted } : {}) };
  if (ready.length > 0 || running.length > 0) return { ...base, status: "running" };
  if (aborted?.rollback) {
    const next = nextRollback(input, steps, stateOfStep);
    if (next) return { ...base, rollback: next, status: "running" };
    const undone = steps.every((s) => {
      const r = stateOfStep(s.id).rollback;
      return r === undefined || r.status === "succeeded" || r.status === "skipped_no_reverse";
    });
    return { ...base, status: undone ? "rolled_back" : "rollback_failed" };
  }
  if (aborted) return { ...base, status: "aborted" };
  if (waiting.length > 0) {
    const paused = waiting.some((id) => stateOfStep(id).status === "paused");
    return { ...base, status: paused ? "paused" : "waiting_approval" };
  }
  const all = steps.map((s) => stateOfStep(s.id));
  if (all.some((s) => s.status === "paused")) return { ...base, status: "held" };
  if (all.some((s) => s.state === "failed")) return { ...base, status: "failed" };
  if (all.some((s) => DENIED.has(s.status))) return { ...base, status: "denied" };
  return { ...base, status: "succeeded" };
}

/** The next step to undo: the latest finished step that acted and has no rollback record yet. */
function nextRollback(
  input: PlanInput,
  steps: readonly PlaybookStep[],
  stateOfStep: (id: string) => StepRun,
): PlannedRollback | undefined {
  const done = steps
    .map((step, i) => ({ step, i, st: stateOfStep(step.id) }))
    .filter(({ st }) => st.state === "succeeded" && st.rollback === undefined)
    .map(({ step, i, st }) => ({
      step,
      i,
      at: st.finished ?? 0,
      items: (st.items ?? []).filter((it) => it.status === "succeeded"),
    }))
    .filter((d) => d.items.length > 0)
    .sort((a, b) => b.at - a.at || b.i - a.i);
  const first = done[0];
  if (!first) return undefined;
  return { step: first.step, reverse: input.reverseOf(first.step), items: first.items };
}
