/**
 * Schema of rule test files, `rules/tests/*.yaml`: events in order (raw vendor alerts as ingest receives them, or
 * events already normalized), each at its event time, and the respond decisions the rules must make, exactly.
 */
import { z } from "zod";
import { NormalizedEvent } from "./ocsf.ts";
import { Target } from "./records.ts";

const OFFSET = /^([+-])?(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `+5m`, `-30s`, `90s`, `0`: milliseconds; undefined when malformed. */
export function parseOffset(s: string): number | undefined {
  if (s.trim() === "0") return 0;
  const m = OFFSET.exec(s.trim());
  if (!m) return undefined;
  const ms = Number(m[2]) * UNIT_MS[m[3] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) return undefined;
  return m[1] === "-" ? -ms : ms;
}

/** An offset from the test's start: `+5m`, `-30s`, `90s` or `0`. */
const Offset = z.union([z.literal(0), z.string()]).transform((v, ctx) => {
  const ms = typeof v === "number" ? v : parseOffset(v);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `expected an offset like +5m, -30s, 90s or 0, got "${String(v)}"` });
    return z.NEVER;
  }
  return ms;
});

/** An instant: ISO 8601 with a zone (`2026-11-20T09:00:00Z`) or milliseconds since the epoch. */
const Instant = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === "number" ? v : Date.parse(v);
  // A time without a zone would depend on the machine's.
  const zoned = typeof v === "number" || /(?:Z|[+-]\d\d:?\d\d)$/i.test(v.trim());
  if (Number.isNaN(ms) || !zoned) {
    ctx.addIssue({
      code: "custom",
      message: `expected an ISO 8601 time with a zone (2026-11-20T09:00:00Z) or ms since the epoch, got "${String(v)}"`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A raw vendor event: a JSON object, or one text line (CEF, LEEF, syslog). */
const RawInput = z.union([z.record(z.string(), z.unknown()), z.string().min(1)]);

/**
 * One event of a test. `raw` goes through the normalizer registry as ingest sends it (format detected, or named by
 * `format`, or by a `source` that is a format name); `normalized` is taken as the correlator receives it. `time`
 * replaces the event's time; `at` sets it relative to the test's start. Without either the event keeps its own time.
 */
export const RuleTestEvent = z
  .strictObject({
    raw: RawInput.optional(),
    normalized: NormalizedEvent.optional(),
    format: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    time: Instant.optional(),
    at: Offset.optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.raw === undefined) === (e.normalized === undefined))
      ctx.addIssue({ code: "custom", message: "an event has either raw: or normalized:, not both or neither" });
    if (e.normalized !== undefined && (e.format !== undefined || e.source !== undefined))
      ctx.addIssue({ code: "custom", message: "format: and source: apply to raw: events only" });
    if (e.time !== undefined && e.at !== undefined)
      ctx.addIssue({ code: "custom", message: "an event has time: or at:, not both" });
  });
export type RuleTestEvent = z.infer<typeof RuleTestEvent>;

/**
 * A respond decision a test expects: the rule, and when given the playbook and target it must name and the params it
 * must carry (each param given must equal the decision's; params not given are not compared).
 */
export const ExpectedDecision = z.strictObject({
  rule: z.string().min(1),
  playbook: z.string().min(1).optional(),
  target: Target.optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});
export type ExpectedDecision = z.infer<typeof ExpectedDecision>;

const Count = z.number().int().nonnegative().optional();

export const RuleTest = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  /** What `at:` offsets count from; the first event's own time when absent. */
  start: Instant.optional(),
  /**
   * Entries imported into named lists of the directory for this test only, as `riposte lists import` adds them to
   * the list of that name (merged with its file in rules/lists/): threat-intel rules are tested without shipping
   * test indicators in the list files.
   */
  lists: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).optional(),
  events: z.array(RuleTestEvent).min(1),
  /** Exactly the respond decisions of the test, in any order; `[]` for none. */
  expect: z.array(ExpectedDecision),
  /** How many decision records of each other outcome the events yield in all, where it matters. */
  expect_outcomes: z.strictObject({ respond: Count, duplicate: Count, suppressed: Count, no_match: Count }).optional(),
});
export type RuleTest = z.infer<typeof RuleTest>;

export const RuleTestFile = z.strictObject({
  description: z.string().optional(),
  /** The rules these tests are about: their tests that expect none of their decisions count as negative tests. */
  rules: z.array(z.string().min(1)).optional(),
  tests: z.array(RuleTest).min(1),
});
export type RuleTestFile = z.infer<typeof RuleTestFile>;
