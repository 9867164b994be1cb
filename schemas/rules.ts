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

const operators = [
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
  "containsi",
  "startsWith",
  "endsWith",
  "regex",
  "wildcard",
  "cidr",
  "inList",
  "exists",
] as const;

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
