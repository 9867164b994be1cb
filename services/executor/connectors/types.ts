/** A connector: a descriptor (actions, classification, idempotency, credentials) plus one run per action. */
import type { z } from "zod";
import type { StateStore } from "../../shared/state/index.ts";

export type Classification = "containment" | "notify" | "enrich" | "ticket";

/** What an action would act on, as the vendor knows it: checked against the protected assets before the call. */
export interface ResolvedTarget {
  /** The vendor's id of it (a device id). */
  readonly id: string;
  readonly hosts?: readonly string[];
  readonly ips?: readonly string[];
  readonly users?: readonly string[];
  /** Vendor facts kept in the audit record and read by `verify` (a device's containment status, ...). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface ActionContext<I> {
  readonly input: I;
  readonly signal: AbortSignal;
  /** The target as `resolve` found it, when the action has a resolver. */
  readonly resolved?: ResolvedTarget | undefined;
}

/** Whether an action's effect is already in place at the vendor, and the evidence. */
export interface Verified {
  readonly done: boolean;
  readonly response: Record<string, unknown>;
}

/** A request an action would send, as a dry run records it (`{placeholders}` stand for what a lookup would find). */
export interface PlannedRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

/** What Riposte itself lends a connector's client: the shared state (the EDL keeps its lists there) and the clock. */
export interface ConnectorEnv {
  readonly state: StateStore;
  readonly statePrefix: string;
  readonly now: () => number;
}

/** One call of a batched action: its parsed input and what `resolve` found. */
export interface BatchItem<I> {
  readonly input: I;
  readonly resolved?: ResolvedTarget | undefined;
}

/**
 * Coalescing: calls of one action that arrive within a short window go to the vendor as one request (IP blocks for
 * one firewall: thousands a second become a few requests). Each call keeps its own claim, guards and audit record;
 * only the vendor request is shared. `run` answers one result per item, in order: the item's response, or an Error
 * for that item alone (throwing fails every item, each then retried under its own step's policy).
 */
export interface BatchSpec<C, I> {
  /** Most calls in one request (the vendor's limit; the executor's configuration may lower it). */
  readonly max: number;
  run(
    client: C,
    items: ReadonlyArray<BatchItem<I>>,
    signal: AbortSignal,
  ): Promise<ReadonlyArray<Record<string, unknown> | Error>>;
}

export interface ActionDescriptor<C, I = unknown> {
  readonly classification: Classification;
  /**
   * Whether repeating the call is harmless. Non-idempotent actions are retried only when the vendor did not act,
   * and never re-sent after an attempt whose outcome is unknown (an executor died mid-call) unless `verify`
   * says the effect is absent.
   */
  readonly idempotent: boolean;
  readonly description: string;
  /** The action that undoes this one (`lift_containment` for `contain_host`): run when its lease ends. */
  readonly reverse?: string;
  /** The reverse action's input from this action's (parsed) input; the step's params as they are when absent. */
  reverseInput?(input: I): Record<string, unknown>;
  /**
   * The action undoes a containment (lift, unblock, unsuspend). It is never paused by the kill switch, counted
   * against a budget, refused as stale or refused for a protected asset: during an incident, analysts must be able
   * to release what automation contained by mistake.
   */
  readonly lifts?: boolean;
  readonly input: z.ZodType<I>;
  /** Looks the target up at the vendor (read-only), so guards can check what the call would really act on. */
  resolve?(client: C, ctx: ActionContext<I>): Promise<ResolvedTarget>;
  /** Asks the vendor whether the effect is already in place (read-only); used after an attempt of unknown outcome. */
  verify?(client: C, ctx: ActionContext<I>): Promise<Verified>;
  run(client: C, ctx: ActionContext<I>): Promise<Record<string, unknown>>;
  /** Sends many calls of this action as one vendor request (see BatchSpec); `run` stays the single-call path. */
  readonly batch?: BatchSpec<C, I>;
  /**
   * The requests `run` (and `resolve`) would send for this input, built by the same functions; a dry run records
   * them in its audit record so the operator sees exactly what a configured connector would do.
   */
  preview?(input: I): readonly PlannedRequest[];
  /**
   * What a dry run answers in place of the vendor, for the steps after it to plan on: the shape `run` returns, with
   * the `{placeholders}` of `preview` where only the vendor knows (a message copy's id). Kept in the dry-run
   * record's response with `sample: true`; a step planned from it runs dry too (plan.ts, dryFrom). An action
   * without one answers nothing a later step can iterate over. Never a verdict: an enrichment's sample names no
   * score, the playbook says what a dry run of it should lead to.
   */
  sample?(input: I): Record<string, unknown>;
}

export interface ConnectorDescriptor<C = unknown> {
  readonly name: string;
  readonly title: string;
  /** Credential names; each is read from RIPOSTE_CONNECTOR_<NAME>_<CREDENTIAL>. */
  readonly credentials: readonly string[];
  /** Credentials read when set but not needed to go live (RIPOSTE_CONNECTOR_<NAME>_<CREDENTIAL> too). */
  readonly optionalCredentials?: readonly string[];
  /** The URL carries its own secret in its query (a Teams Workflows URL): accepted by configuration, never shown. */
  readonly secretUrl?: boolean;
  /** Served by Riposte itself (no URL, no credentials): always live, never a dry run. */
  readonly local?: boolean;
  /** Builds the client (transport + auth) from the configured URL and credentials (`""` for a local connector). */
  client(url: string, credentials: Readonly<Record<string, string>>, env: ConnectorEnv): C;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each action declares its own input type
  readonly actions: Readonly<Record<string, ActionDescriptor<C, any>>>;
}

/** Declares an action with its input type inferred from its schema. */
export function action<C, S extends z.ZodType>(
  a: ActionDescriptor<C, z.infer<S>> & { input: S },
): ActionDescriptor<C, z.infer<S>> {
  return a;
}
