/**
 * Schema of playbook test files, `rules/playbooks/tests/*.yaml`: a decision in, each step's connector answer mocked
 * (success with an output, an error code or HTTP status, a timeout), and what must happen: the steps in the order
 * they ended, each one's status, and the run's final status.
 */
import { z } from "zod";
import { Target } from "./records.ts";

/** One mocked answer of a step's connector: an output, or a failure. */
export const MockAnswer = z
  .strictObject({
    /** The action's result (what later steps read as `steps.<id>.output`). */
    output: z.record(z.string(), z.unknown()).optional(),
    /** A Riposte error code the connector throws (RIPOSTE_CONNECTOR_UNAVAILABLE, ..._RATE_LIMITED, ..._AUTH, ...). */
    error: z
      .enum([
        "RIPOSTE_CONNECTOR_AUTH",
        "RIPOSTE_CONNECTOR_NOT_FOUND",
        "RIPOSTE_CONNECTOR_RATE_LIMITED",
        "RIPOSTE_CONNECTOR_UNAVAILABLE",
        "RIPOSTE_CONNECTOR_TIMEOUT",
        "RIPOSTE_CONNECTOR_REJECTED",
      ])
      .optional(),
    /** An HTTP status the vendor answers (429 and 5xx are retried, other 4xx not). */
    http: z.number().int().min(400).max(599).optional(),
    /** Seconds of a 429's Retry-After. */
    retry_after: z.number().int().min(0).max(3600).optional(),
    /** The call times out. */
    timeout: z.literal(true).optional(),
  })
  .refine((a) => [a.output, a.error, a.http, a.timeout].filter((x) => x !== undefined).length <= 1, {
    message: "an answer is one of output:, error:, http: or timeout:",
  });
export type MockAnswer = z.infer<typeof MockAnswer>;

/** The verdict a test gives a gated step's approval. */
export const ApprovalAnswer = z.union([
  z.enum(["approve", "deny", "expire"]),
  z
    .strictObject({
      verdict: z.enum(["approve", "deny", "expire"]),
      /** Who decided (the audit record's approval.by; default playbook-test). */
      by: z.string().min(1).optional(),
      comment: z.string().max(500).optional(),
      /** For expire: the gate's on_expiry for this test instead of the playbook's. */
      on_expiry: z.enum(["deny", "proceed"]).optional(),
    })
    .refine((a) => a.on_expiry === undefined || a.verdict === "expire", {
      message: "on_expiry: only with verdict: expire",
      path: ["on_expiry"],
    }),
]);
export type ApprovalAnswer = z.infer<typeof ApprovalAnswer>;

export const PlaybookTest = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  /** The playbook (its id in rules/playbooks/). */
  playbook: z.string().min(1),
  /** The decision (the rest is filled in: ids, times, the alert). */
  decision: z
    .strictObject({
      target: Target,
      params: z.record(z.string(), z.unknown()).default({}),
      rule: z.string().min(1).default("playbook-test"),
      approval: z.enum(["none", "required"]).default("none"),
    })
    .strict(),
  /**
   * Each step's answers, by step id (`<id>.rollback` for its reverse action): one answer for every call, or a
   * list used in order (a retry or the next for_each item takes the next one; the last one repeats). A step not
   * named succeeds with an empty output.
   */
  answers: z.record(z.string().min(1), z.union([MockAnswer, z.array(MockAnswer).min(1)])).default({}),
  /**
   * Steps whose connector is not configured: each runs dry (audited dry_run, its connector never called), its
   * output the action's dry-run sample when it declares one; the steps planned from it run dry too.
   */
  unconfigured: z.array(z.string().min(1)).default([]),
  /**
   * The verdict of each gated step's approval, by step id: approve, deny or expire (the gate's on_expiry applies;
   * `{verdict: expire, on_expiry: proceed}` tries the other one). Given when the step waits for it, one step at a
   * time in the order they wait; expire moves the test's clock past the approval's expiry (and the decision's age
   * with it) and lets the expiry sweep decide. A gated step with no verdict here keeps waiting.
   */
  approvals: z.record(z.string().min(1), ApprovalAnswer).default({}),
  /** Containment is paused (the kill switch is on) during the test. */
  kill_switch: z.boolean().default(false),
  expect: z.strictObject({
    /** The run's final status. */
    status: z.enum([
      "running",
      "waiting_approval",
      "paused",
      "succeeded",
      "failed",
      "denied",
      "aborted",
      "rolled_back",
      "rollback_failed",
      "held",
    ]),
    /**
     * Every step, in the order it ended (skipped steps where they were skipped), each as `{<step id>: <status>}`:
     * an action status (succeeded, failed, paused, awaiting_approval, ...) or skipped_condition,
     * skipped_dependency, skipped_aborted. A step still waiting for approval is listed as awaiting_approval.
     */
    steps: z.array(z.record(z.string().min(1), z.string().min(1))).min(1),
    /** How many times each named step called its connector (retries and for_each items included). */
    calls: z.record(z.string().min(1), z.number().int().nonnegative()).optional(),
    /** The reverse actions run by a rollback, in order, as `<step id>: <status>`. */
    rollback: z.array(z.record(z.string().min(1), z.string().min(1))).optional(),
  }),
});
export type PlaybookTest = z.infer<typeof PlaybookTest>;

export const PlaybookTestFile = z.strictObject({
  description: z.string().optional(),
  tests: z.array(PlaybookTest).min(1),
});
export type PlaybookTestFile = z.infer<typeof PlaybookTestFile>;
