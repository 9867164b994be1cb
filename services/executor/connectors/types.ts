/** A connector: a descriptor (actions, classification, idempotency, credentials) plus one run per action. */
import type { z } from "zod";

export type Classification = "containment" | "notify" | "enrich" | "ticket";

export interface ActionContext<I> {
  readonly input: I;
  readonly signal: AbortSignal;
}

export interface ActionDescriptor<C, I = unknown> {
  readonly classification: Classification;
  /** Whether repeating the call is harmless; non-idempotent actions are retried only when the vendor did not act. */
  readonly idempotent: boolean;
  readonly description: string;
  readonly input: z.ZodType<I>;
  run(client: C, ctx: ActionContext<I>): Promise<Record<string, unknown>>;
}

export interface ConnectorDescriptor<C = unknown> {
  readonly name: string;
  readonly title: string;
  /** Credential names; each is read from RIPOSTE_CONNECTOR_<NAME>_<CREDENTIAL>. */
  readonly credentials: readonly string[];
  /** Builds the client (transport + auth) from the configured URL and credentials. */
  client(url: string, credentials: Readonly<Record<string, string>>): C;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each action declares its own input type
  readonly actions: Readonly<Record<string, ActionDescriptor<C, any>>>;
}

/** Declares an action with its input type inferred from its schema. */
export function action<C, S extends z.ZodType>(
  a: ActionDescriptor<C, z.infer<S>> & { input: S },
): ActionDescriptor<C, z.infer<S>> {
  return a;
}
