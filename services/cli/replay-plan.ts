/**
 * `riposte replay --plan`: the steps each respond decision's playbook would run, as the executor's dry run records
 * them (status, the requests the connector would send), with the guards that need no vendor applied in event time:
 * kill switch (configuration), protected assets, leases and budgets, on fresh in-memory state. Unlike a dry run,
 * budget places are kept, not given back: the backtest asks what a live executor would have contained, and the
 * (N+1)th containment of a window is what a budget refuses. Checks that need the vendor (what it resolves a target
 * to) cannot run here and are not claimed.
 */
import { decisionData, type IdentitySettings } from "../executor/identity.ts";
import { targetKey, type Decision, type PlaybookFile } from "../../schemas/index.ts";
import {
  CONNECTORS,
  actionIdOf,
  itemKey,
  type ActionDescriptor,
  type Guards,
  type PlannedRequest,
} from "../executor/index.ts";
import { isRiposteError, messageOf } from "../shared/errors.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import { renderAll, valueAt } from "../shared/template.ts";
import { preparePlaybook } from "../executor/plan.ts";

/** One step as the backtest would have run it. */
export interface PlannedStep {
  readonly step: string;
  readonly connector: string;
  readonly action: string;
  readonly classification?: string;
  /** An executor audit status: dry_run, awaiting_approval, paused, refused_protected, refused_budget, skipped_lease, failed. */
  readonly status: string;
  readonly reason?: string;
  readonly request?: Record<string, unknown>;
  readonly would_send?: readonly PlannedRequest[];
}

export interface PlanDeps {
  readonly playbooks: ReadonlyMap<string, PlaybookFile>;
  readonly guards: Guards;
  readonly state: StateStore;
  readonly statePrefix: string;
  /** Which identity provider holds a user (RIPOSTE_IDP_DOMAINS, RIPOSTE_IDP_DEFAULT); the defaults when absent. */
  readonly identity?: IdentitySettings;
}

/** The playbook's steps for one respond decision; empty for any other decision. */
export async function planDecision(d: Decision, deps: PlanDeps): Promise<PlannedStep[]> {
  if (d.outcome !== "respond" || !d.playbook) return [];
  const playbook = deps.playbooks.get(d.playbook);
  if (!playbook)
    return [
      {
        step: "",
        connector: "",
        action: "",
        status: "failed",
        reason: `playbook "${d.playbook}" is not loaded (the executor dead-letters this decision)`,
      },
    ];
  const out: PlannedStep[] = [];
  const prepared = preparePlaybook(playbook);
  // What each step came to: planned (a dry run), or not run (skipped, failed, refused). A dry run has no vendor
  // answer: a condition reads an earlier step's output as the action's dry-run sample (ActionDescriptor.sample,
  // empty without one), and the incident as unknown; a for_each iterates over the sample.
  const planned = new Map<string, boolean>();
  const outputs = new Map<string, Record<string, unknown>>();
  const stepsSoFar = () =>
    Object.fromEntries(
      [...planned]
        .filter(([, ok]) => ok)
        .map(([id]) => [id, { status: "dry_run", state: "succeeded", output: outputs.get(id) ?? {} }]),
    );
  for (const [i, step] of playbook.steps.entries()) {
    const needs = prepared.deps[i];
    if (needs && !needs.implicit && needs.ids.some((id) => planned.get(id) !== true)) {
      planned.set(step.id, false);
      continue;
    }
    const cond = prepared.conditions[i];
    if (cond) {
      let holds: boolean;
      try {
        holds = cond({ ...decisionData(d, deps.identity), steps: stepsSoFar(), incident: {} });
      } catch {
        holds = false;
      }
      if (!holds) {
        planned.set(step.id, false);
        continue;
      }
    }
    const base = { step: step.id, connector: step.connector, action: step.action };
    const connector = CONNECTORS.find((c) => c.name === step.connector);
    const action = connector?.actions[step.action] as ActionDescriptor<unknown> | undefined;
    if (!action) {
      out.push({ ...base, status: "failed", reason: `unknown connector action ${step.connector}.${step.action}` });
      break;
    }
    const withClass = { ...base, classification: action.classification };
    if (d.approval === "required") {
      out.push({ ...withClass, step: "approval", status: "awaiting_approval" });
      break;
    }
    // A for_each step plans one action per item of its list (a single value is a list of one), as the executor runs it.
    const data = { ...decisionData(d, deps.identity), steps: stepsSoFar() };
    const list = step.for_each === undefined ? undefined : valueAt(data, step.for_each);
    const items = step.for_each === undefined ? [undefined] : Array.isArray(list) ? list : list == null ? [] : [list];
    const made: PlannedStep[] = [];
    for (const item of items) {
      const p = await planStep(d, data, step, action, withClass, deps, item);
      made.push(p.planned);
      if (p.sample && !outputs.has(step.id)) outputs.set(step.id, p.sample);
    }
    out.push(...made);
    // As the executor: a failure or a refusal stops an aborting playbook.
    const stopped = made.some((s) => s.status === "failed" || s.status.startsWith("refused_"));
    planned.set(step.id, made.length > 0 && !stopped);
    if (stopped && step.on_failure === "abort") break;
  }
  return out;
}

/** One planned action, and the sample output its dry run answers (for the steps after it). */
async function planStep(
  d: Decision,
  data: Record<string, unknown>,
  step: PlaybookFile["steps"][number],
  action: ActionDescriptor<unknown>,
  base: Pick<PlannedStep, "step" | "connector" | "action" | "classification">,
  deps: PlanDeps,
  item?: unknown,
): Promise<{ planned: PlannedStep; sample?: Record<string, unknown> }> {
  let request: Record<string, unknown>;
  let input: unknown;
  try {
    request = renderAll(step.params, item === undefined ? data : { ...data, item });
    input = action.input.parse(request);
  } catch (e) {
    return {
      planned: { ...base, status: "failed", reason: `${isRiposteError(e) ? `${e.code}: ` : ""}${messageOf(e)}` },
    };
  }
  const planned = await planChecked(d, step, action, base, deps, request, input, item);
  return planned.status === "dry_run" && action.sample ? { planned, sample: action.sample(input) } : { planned };
}

async function planChecked(
  d: Decision,
  step: PlaybookFile["steps"][number],
  action: ActionDescriptor<unknown>,
  base: Pick<PlannedStep, "step" | "connector" | "action" | "classification">,
  deps: PlanDeps,
  request: Record<string, unknown>,
  input: unknown,
  item?: unknown,
): Promise<PlannedStep> {
  const { guards } = deps;
  const refused = (status: string, reason: string): PlannedStep => ({ ...base, status, reason, request });
  if (action.classification === "containment") {
    // Only the configuration's switch: the API's is live state of a running cluster, not part of a backtest.
    if (guards.settings.killSwitch)
      return refused("paused", "containment is paused by the kill switch (configuration)");
    // Decisions are made at their event's time here, so none is ever stale.
    const prot = d.target && guards.protectedTarget(d.target);
    if (prot) return refused("refused_protected", prot);
  }
  const actionId = actionIdOf(d.id, step.id, item === undefined ? undefined : itemKey(item));
  const lease =
    step.lease && d.target
      ? stateKey(deps.statePrefix, targetKey(d.target), "lease", `${step.connector}.${step.action}`)
      : undefined;
  if (lease && step.lease) {
    const held = await deps.state.claim(lease, d.id, step.lease.ttl);
    if (held.state !== "acquired")
      return refused("skipped_lease", `${step.connector}.${step.action} already ran on this target within its lease`);
  }
  const budgets = await guards.takeBudgets(actionId, {
    rule: d.rule?.id,
    classification: action.classification,
    connector: step.connector,
    action: step.action,
  });
  if (budgets.refused) {
    // As the executor does: a refused action holds no lease, so a later decision may still run it.
    if (lease) await deps.state.release(lease, d.id);
    const { spec, count } = budgets.refused;
    return refused(
      "refused_budget",
      `budget ${spec.text} is spent (${count} within the window): the action would not have been sent`,
    );
  }
  return {
    ...base,
    status: "dry_run",
    request,
    ...(action.preview ? { would_send: action.preview(input) } : {}),
  };
}
