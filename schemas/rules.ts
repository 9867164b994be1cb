/** Schemas of the files detection engineers commit: rules/*.yaml and rules/playbooks/*.yaml. */
import { z } from "zod";
import { DURATION_HINT, durationProblem, parseDuration } from "./duration.ts";
import { Target } from "./records.ts";

const durationError = (iss: { input?: unknown }) =>
  durationProblem(String(iss.input)) ?? `expected ${DURATION_HINT}, got "${String(iss.input)}"`;

/**
 * Durations as `500ms`, `30s`, `5m`, `1h`, `7d`, in milliseconds. Zero and negative durations are refused (as a
 * TTL or window they would silently turn dedup, idempotency or leases off).
 */
export const Duration = z
  .string()
  .regex(/^0*[1-9]\d*(ms|s|m|h|d)$/, { error: durationError, abort: true })
  .refine((s) => parseDuration(s) !== undefined, { error: durationError })
  .transform((s) => parseDuration(s) as number);

/** A dotted field path into the event (`device.hostname`, `observables.0.value`); no expressions. */
export const FieldPath = z
  .string()
  .regex(/^\$?\.?[A-Za-z_][\w-]*(\.[\w-]+)*$/, "a dotted field path such as device.hostname (no expressions)");

/** json-rules-engine's own operators. */
export const ENGINE_OPERATORS = [
  "equal",
  "notEqual",
  "lessThan",
  "lessThanInclusive",
  "greaterThan",
  "greaterThanInclusive",
  "in",
  "notIn",
  "contains",
  "doesNotContain",
] as const;

/** The operators Riposte adds (services/correlator/operators.ts implements them). */
export const CUSTOM_OPERATORS = [
  "containsi",
  "startsWith",
  "endsWith",
  "regex",
  "wildcard",
  "cidr",
  "inList",
  "exists",
] as const;

const operators = [...ENGINE_OPERATORS, ...CUSTOM_OPERATORS] as const;

/** A condition as json-rules-engine takes it. */
export interface ConditionShape {
  all?: ConditionShape[] | undefined;
  any?: ConditionShape[] | undefined;
  not?: ConditionShape | undefined;
  fact?: string | undefined;
  path?: string | undefined;
  operator?: string | undefined;
  value?: unknown;
}

const Leaf = z.strictObject({
  fact: z.string().regex(/^[A-Za-z_][\w]*$/, "a fact name (a top-level event field, or `event`)"),
  path: z
    .string()
    .regex(
      /^\$(\.[\w-]+)*$/,
      "a JSONPath of plain members like $.finding_info.title or $.observables.0.value (no filters or scripts)",
    )
    .optional(),
  operator: z.enum(operators),
  value: z.unknown(),
});

/** json-rules-engine's condition format, restricted to plain data. */
export const Condition: z.ZodType<ConditionShape> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(Condition).min(1) }),
    z.strictObject({ any: z.array(Condition).min(1) }),
    z.strictObject({ not: Condition }),
    Leaf,
  ]),
);

/**
 * One group-by key of a correlation: `name` is how decisions call it (`correlation.group.user`), `from` the event
 * fields that may hold it, first present wins (the same user is `user.name` in Okta, `user.email_addr` in Entra
 * sign-ins and `actor.user.email_addr` elsewhere). Values are compared case-insensitively. A bare field path is
 * short for `{field: <path>, from: [<path>]}`.
 */
export const GroupBy = z.union([
  FieldPath.transform((path) => ({ field: path, from: [path] })),
  z.strictObject({
    field: z.string().regex(/^[a-z][a-z0-9_]*$/, "a group name such as user or src_ip"),
    from: z.array(FieldPath).min(1),
  }),
]);
export type GroupBy = z.infer<typeof GroupBy>;

/** A rule a temporal correlation needs, with how many of its matches (default 1). */
const CorrelatedRule = z.union([
  z.string().transform((rule) => ({ rule, gte: 1 })),
  z.strictObject({ rule: z.string().min(1), gte: z.number().int().min(1).max(10_000).default(1) }),
]);

/** A value field: one path, or several where the first present wins (like a group-by's `from`). */
const ValueField = z.union([FieldPath.transform((p) => [p]), z.array(FieldPath).min(1)]);

/**
 * Correlation over several events, in event time (the semantics of Sigma's correlation rules, plus new_terms):
 * - `event_count`: at least `condition.gte` events matching this rule per group within `timespan`;
 * - `value_count`: at least `condition.gte` distinct values of `field` per group within `timespan`;
 * - `temporal`: every rule in `rules` matched (each at least its `gte` times) for the group within `timespan`, in any
 *   order;
 * - `temporal_ordered`: the same, in the order listed (`[{rule: signin-failed, gte: 5}, signin-succeeded]`);
 * - `new_terms`: a value of `field` not seen for the group within `history` (a user's first sign-in from a country).
 * The rule's own `match` selects the events the correlation looks at; for temporal types an event counts for the
 * listed rules it matched. Once a correlation fires, the events it used are spent: the next decision needs a fresh
 * set. `lateness` is how far an event may be behind the latest event time seen for its group and still count
 * (default RIPOSTE_CORRELATION_LATENESS); a later event is decided alone and counted in `correlator_late_total`.
 */
export const Correlation = z
  .strictObject({
    type: z.enum(["event_count", "value_count", "temporal", "temporal_ordered", "new_terms"]),
    group_by: z.array(GroupBy).min(1),
    timespan: Duration.optional(),
    condition: z.strictObject({ gte: z.number().int().min(1).max(10_000) }).optional(),
    field: ValueField.optional(),
    rules: z.array(CorrelatedRule).min(1).optional(),
    history: Duration.optional(),
    /** Most values new_terms remembers per group (the newest are kept). */
    max_terms: z.number().int().min(1).max(100_000).default(1_000),
    lateness: Duration.optional(),
  })
  .superRefine((c, ctx) => {
    const need = (key: keyof typeof c, why: string) => {
      if (c[key] === undefined)
        ctx.addIssue({ code: "custom", path: [key], message: `${c.type} needs ${key}: ${why}` });
    };
    const refuse = (key: keyof typeof c) => {
      if (c[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `${c.type} does not use ${key}` });
    };
    if (c.type === "new_terms") {
      need("field", "the value that must be new");
      need("history", "how long a value stays known");
      refuse("timespan");
      refuse("condition");
      refuse("rules");
      return;
    }
    need("timespan", "the window the events must fall in");
    refuse("history");
    if (c.type === "event_count" || c.type === "value_count") {
      need("condition", "the threshold, e.g. {gte: 5}");
      refuse("rules");
      if (c.type === "value_count") need("field", "the field whose distinct values are counted");
      else refuse("field");
    } else {
      need("rules", "the rule ids that must match");
      refuse("condition");
      refuse("field");
      if ((c.rules?.length ?? 0) < 2)
        ctx.addIssue({ code: "custom", path: ["rules"], message: `${c.type} needs at least two rules` });
    }
  });
export type Correlation = z.infer<typeof Correlation>;

export const RuleFile = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "lower-case id with letters, digits, '.', '_' or '-'"),
  version: z.number().int().positive(),
  name: z.string().min(1),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
  priority: z.number().int().min(1).max(100).default(50),
  match: Condition,
  dedup: z
    .strictObject({
      fields: z.array(FieldPath).min(1),
      window: Duration,
      missing: z.enum(["skip", "group_as_empty"]).default("skip"),
    })
    .optional(),
  score: z.number().min(0).max(100).default(0),
  correlation: Correlation.optional(),
  /**
   * Risk condition: the rule decides only when its entity's risk score reaches `gte`. Every matching rule that is
   * not a correlation adds its `score` to the entity of the alert (`riposte.entity_key`), decaying by half every
   * RIPOSTE_RISK_HALF_LIFE in event time; the score counted includes this alert's own contributions.
   */
  risk: z.strictObject({ gte: z.number().positive().max(100_000) }).optional(),
  /**
   * False for a rule that is only an input to temporal correlations (Sigma's `generate: false`): its matches are
   * recorded for the correlations that name it, and it makes no decision of its own.
   */
  generate: z.boolean().default(true),
  decision: z
    .strictObject({
      playbook: z.string().min(1),
      target: z.strictObject({ type: Target.shape.type, value: z.string().min(1) }),
      params: z.record(z.string(), z.string()).default({}),
      approval: z.enum(["none", "required"]).default("none"),
    })
    .optional(),
});
export type RuleFile = z.infer<typeof RuleFile>;

export const Classification = z.enum(["containment", "notify", "enrich", "ticket"]);

const StepId = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "a step id: lower-case letters, digits, '_' or '-'");

/** Where a template, an `if` or a `for_each` may read: the decision's fields, its incident, earlier steps, the item. */
export const STEP_DATA_ROOTS = [
  "target",
  "params",
  "alert",
  "decision",
  "rule",
  "incident",
  "steps",
  "item",
  "identity",
] as const;

/** A dotted path to a list in the decision or an earlier step's output: `params.recipients`, `steps.find.output.mailboxes`. */
const ListPath = z
  .string()
  .regex(
    /^(target|params|alert|decision|rule|incident|steps)(\.[\w-]+)+$/,
    "a dotted path to a list under params, alert, incident or steps (params.recipients, steps.find.output.mailboxes)",
  );

export const PlaybookStep = z.strictObject({
  id: StepId,
  connector: z.string().min(1),
  action: z.string().min(1),
  params: z.record(z.string(), z.string()).default({}),
  /**
   * The steps this one waits for. Absent: the step before it (a plain list runs in order, as before); `[]`: none,
   * it starts at once. A step runs only when every step it needs succeeded; otherwise it is skipped
   * (`skipped_dependency`). An implicit wait for the step before only orders: the step runs whatever that one's
   * outcome, unless that one was denied approval (`skipped_denied`: a denial stops what comes after it).
   */
  needs: z.array(StepId).max(50).optional(),
  /**
   * Runs the step only when this condition (the rules' condition format) holds on the facts `decision`, `target`,
   * `params`, `alert`, `rule`, `incident` and `steps` (`{fact: steps, path: $.lookup.output.confidence, ...}`);
   * otherwise it is skipped (`skipped_condition`) and so are the steps that need it.
   */
  if: Condition.optional(),
  /**
   * Runs the step once per item of this list (each item its own effectively-once action; `{{item}}` and
   * `{{item.field}}` in params). A single value is a list of one; a list longer than the executor's limit
   * (RIPOSTE_FOR_EACH_MAX, default 100) fails the step without sending anything.
   */
  for_each: ListPath.optional(),
  timeout: Duration.default(30_000),
  retry: z
    .strictObject({ max: z.number().int().min(0).max(10), backoff: Duration })
    .default({ max: 2, backoff: 1_000 }),
  /**
   * What a failure (or a guard's refusal) of this step does to the run: `continue` (the steps that need it are
   * skipped, the others go on), `abort` (nothing more starts) or `rollback` (abort, then undo every step done so far
   * through its action's declared reverse action, latest first).
   */
  on_failure: z.enum(["continue", "abort", "rollback"]).default("abort"),
  lease: z.strictObject({ ttl: Duration }).optional(),
  /**
   * An approval gate: the step (and the steps after it that wait for it) waits until a token of one of these roles
   * (or a higher one) approves it, or it expires and `on_expiry` decides. Steps that do not wait for it go on.
   */
  approval: z
    .strictObject({
      roles: z
        .array(z.enum(["analyst", "approver", "admin"]))
        .min(1)
        .default(["approver"]),
      expires: Duration.default(4 * 3_600_000),
      on_expiry: z.enum(["deny", "proceed"]).default("deny"),
    })
    .optional(),
});
export type PlaybookStep = z.infer<typeof PlaybookStep>;

/** The steps a step waits for: its `needs`, or the step before it when it has none (see PlaybookStep.needs). */
export function dependenciesOf(steps: readonly PlaybookStep[], index: number): { ids: string[]; implicit: boolean } {
  const step = steps[index] as PlaybookStep;
  if (step.needs !== undefined) return { ids: [...step.needs], implicit: false };
  const before = steps[index - 1];
  return { ids: before ? [before.id] : [], implicit: true };
}

/** The `steps.<id>` a step reads (params, if, for_each). */
export function stepsReadBy(step: PlaybookStep): Set<string> {
  const out = new Set<string>();
  const scan = (text: string) => {
    for (const m of text.matchAll(/(?:^|[^\w.])steps\.([a-z0-9][a-z0-9_-]*)/g)) out.add(m[1] as string);
  };
  for (const t of Object.values(step.params)) scan(t);
  if (step.for_each) scan(step.for_each);
  const walk = (c: ConditionShape | undefined) => {
    if (!c) return;
    c.all?.forEach(walk);
    c.any?.forEach(walk);
    walk(c.not);
    if (c.fact === "steps" && c.path) {
      const m = /^\$\.([a-z0-9][a-z0-9_-]*)/.exec(c.path);
      if (m) out.add(m[1] as string);
    }
    const v = c.value as { fact?: unknown; path?: unknown } | undefined;
    if (v && typeof v === "object" && v.fact === "steps" && typeof v.path === "string") {
      const m = /^\$\.([a-z0-9][a-z0-9_-]*)/.exec(v.path);
      if (m) out.add(m[1] as string);
    }
  };
  walk(step.if);
  return out;
}

/**
 * The graph checks: unique step ids, `needs` naming steps of the playbook, no cycle, and every `steps.<id>` a step
 * reads is one it waits for (directly or through others), so the output is there when it runs.
 */
function checkGraph(steps: readonly PlaybookStep[], ctx: z.RefinementCtx): void {
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (index.has(s.id))
      ctx.addIssue({ code: "custom", path: ["steps", i, "id"], message: `step id "${s.id}" is used twice` });
    else index.set(s.id, i);
  });
  const deps = steps.map((_s, i) => dependenciesOf(steps, i).ids);
  let broken = false;
  steps.forEach((s, i) =>
    (s.needs ?? []).forEach((n, j) => {
      if (!index.has(n)) {
        broken = true;
        ctx.addIssue({
          code: "custom",
          path: ["steps", i, "needs", j],
          message: `needs "${n}", which is not a step of this playbook (steps: ${[...index.keys()].join(", ")})`,
        });
      } else if (n === s.id) {
        broken = true;
        ctx.addIssue({ code: "custom", path: ["steps", i, "needs", j], message: `step "${s.id}" needs itself` });
      }
    }),
  );
  if (broken) return;
  // Cycles: depth-first, reporting the first cycle found at the step that closes it.
  const mark = new Array<0 | 1 | 2>(steps.length).fill(0);
  const stack: number[] = [];
  const visit = (i: number): boolean => {
    if (mark[i] === 2) return false;
    if (mark[i] === 1) {
      const cycle = [...stack.slice(stack.indexOf(i)), i].map((k) => (steps[k] as PlaybookStep).id);
      ctx.addIssue({
        code: "custom",
        path: ["steps", i, "needs"],
        message: `steps wait for each other in a cycle: ${cycle.join(" → ")}`,
      });
      return true;
    }
    mark[i] = 1;
    stack.push(i);
    for (const d of deps[i] as string[]) if (visit(index.get(d) as number)) return true;
    stack.pop();
    mark[i] = 2;
    return false;
  };
  for (let i = 0; i < steps.length; i++) if (visit(i)) return;
  const ancestors = (i: number, seen = new Set<string>()): Set<string> => {
    for (const d of deps[i] as string[]) {
      if (seen.has(d)) continue;
      seen.add(d);
      ancestors(index.get(d) as number, seen);
    }
    return seen;
  };
  steps.forEach((s, i) => {
    const before = ancestors(i);
    for (const read of stepsReadBy(s)) {
      if (!index.has(read))
        ctx.addIssue({ code: "custom", path: ["steps", i], message: `reads steps.${read}, which is not a step` });
      else if (!before.has(read))
        ctx.addIssue({
          code: "custom",
          path: ["steps", i],
          message: `reads steps.${read} but does not wait for it: add "${read}" to needs`,
        });
    }
  });
}

export const PlaybookFile = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    version: z.number().int().positive(),
    name: z.string().min(1),
    description: z.string().optional(),
    /**
     * Run every step in dry run whatever the connectors' configuration: each audit record holds the exact request
     * the connector would send, and nothing is sent (for a new playbook's first days, or a backtest).
     */
    dry_run: z.boolean().default(false),
    steps: z.array(PlaybookStep).min(1).max(100),
  })
  .superRefine((p, ctx) => checkGraph(p.steps, ctx));
export type PlaybookFile = z.infer<typeof PlaybookFile>;
