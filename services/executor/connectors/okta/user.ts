/** What the Okta actions share: the user input, the lookup as a resolved target, the lifecycle action factory. */
import { z } from "zod";
import { action, type ResolvedTarget } from "../types.ts";
import { ID_PLACEHOLDER, OKTA_REQUESTS, WANTED, type OktaClient, type OktaUser } from "./transport.ts";

export const UserInput = z.strictObject({
  /** The user's login (usually the email address) or Okta id. */
  // "." and ".." survive URL encoding and would climb out of /api/v1/users/ (a hostile alert's user name).
  user: z
    .string()
    .trim()
    .min(1)
    .max(320)
    .refine((u) => u !== "." && u !== "..", "not a user login or id"),
  reason: z.string().max(2000).optional(),
});

export function target(u: OktaUser): ResolvedTarget {
  return {
    id: u.id,
    users: [u.login, u.email].filter((x) => x !== ""),
    detail: { id: u.id, status: u.status, login: u.login, email: u.email },
  };
}

export const resolveUser = async (
  client: OktaClient,
  { input, signal }: { input: { user: string }; signal: AbortSignal },
) => target(await client.user(input.user, signal));

export const idOf = async (
  client: OktaClient,
  input: { user: string },
  signal: AbortSignal,
  resolved?: ResolvedTarget,
) => resolved?.id ?? (await client.user(input.user, signal)).id;

/** A lifecycle change (suspend or unsuspend): resolved, verified by the user's status, idempotent. */
export function lifecycleAction(op: "suspend" | "unsuspend", reverse: string, description: string) {
  return action({
    classification: "containment",
    idempotent: true,
    reverse,
    lifts: op === "unsuspend",
    description,
    input: UserInput,
    resolve: resolveUser,
    verify: async (client: OktaClient, { input, signal }) => {
      const u = await client.user(input.user, signal);
      return { done: u.status === WANTED[op], response: { ...target(u).detail, verified: true } };
    },
    run: async (client: OktaClient, { input, signal, resolved }) =>
      client.lifecycle(await idOf(client, input, signal, resolved), op, signal),
    preview: (input) => [OKTA_REQUESTS.getUser(input.user), OKTA_REQUESTS.lifecycle(ID_PLACEHOLDER, op)],
  });
}
