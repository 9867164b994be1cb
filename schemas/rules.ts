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

export const PlaybookStep = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  connector: z.string().min(1),
  action: z.string().min(1),
  params: z.record(z.string(), z.string()).default({}),
  timeout: Duration.default(30_000),
  retry: z
    .strictObject({ max: z.number().int().min(0).max(10), backoff: Duration })
    .default({ max: 2, backoff: 1_000 }),
  on_failure: z.enum(["continue", "abort"]).default("abort"),
  lease: z.strictObject({ ttl: Duration }).optional(),
  /**
   * An approval gate: the step (and the rest of the playbook after it) waits until a token of one of these roles
   * (or a higher one) approves it, or it expires and `on_expiry` decides.
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

export const PlaybookFile = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
  version: z.number().int().positive(),
  name: z.string().min(1),
  description: z.string().optional(),
  steps: z.array(PlaybookStep).min(1),
});
export type PlaybookFile = z.infer<typeof PlaybookFile>;
