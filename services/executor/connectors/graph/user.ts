/** What the Graph user actions share: the user input, the lookup as a resolved target, the account factory. */
import { z } from "zod";
import { action, type ResolvedTarget } from "../types.ts";
import { GRAPH_REQUESTS, ID_PLACEHOLDER, type GraphClient, type GraphUser } from "./transport.ts";

export const UserInput = z.strictObject({
  /** The user's object id or userPrincipalName. */
  // "." and ".." survive URL encoding and would climb out of /v1.0/users/ (a hostile alert's user name).
  user: z
    .string()
    .trim()
    .min(1)
    .max(320)
    .refine((u) => u !== "." && u !== "..", "not a user id or userPrincipalName"),
  reason: z.string().max(2000).optional(),
});

export function target(u: GraphUser): ResolvedTarget {
  return {
    id: u.id,
    users: [...new Set([u.userPrincipalName, u.mail].filter((x) => x !== ""))],
    detail: {
      id: u.id,
      user_principal_name: u.userPrincipalName,
      mail: u.mail,
      display_name: u.displayName,
      account_enabled: u.accountEnabled,
    },
  };
}

export const resolveUser = async (
  client: GraphClient,
  { input, signal }: { input: { user: string }; signal: AbortSignal },
) => target(await client.user(input.user, signal));

export const idOf = async (
  client: GraphClient,
  input: { user: string },
  signal: AbortSignal,
  resolved?: ResolvedTarget,
) => resolved?.id ?? (await client.user(input.user, signal)).id;

/** Disable or enable the account (`PATCH accountEnabled`, 204, idempotent), verified by the user's record. */
export function accountAction(enabled: boolean) {
  return action({
    classification: "containment",
    idempotent: true,
    reverse: enabled ? "disable_user" : "enable_user",
    lifts: enabled,
    description: enabled
      ? "Enable a disabled Entra ID account (sign-in allowed again)"
      : "Disable an Entra ID account (sign-in blocked; reversible with enable_user)",
    input: UserInput,
    resolve: resolveUser,
    verify: async (client: GraphClient, { input, signal }) => {
      const u = await client.user(input.user, signal);
      return { done: u.accountEnabled === enabled, response: { ...target(u).detail, verified: true } };
    },
    run: async (client: GraphClient, { input, signal, resolved }) => {
      const id = await idOf(client, input, signal, resolved);
      await client.api.call(GRAPH_REQUESTS.setEnabled(id, enabled), signal, enabled ? "enable_user" : "disable_user");
      return { user_id: id, account_enabled: enabled };
    },
    preview: (input) => [GRAPH_REQUESTS.getUser(input.user), GRAPH_REQUESTS.setEnabled(ID_PLACEHOLDER, enabled)],
  });
}
