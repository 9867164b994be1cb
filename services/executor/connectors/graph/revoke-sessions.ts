/**
 * `revoke_sessions`: invalidate a user's refresh tokens and session cookies (`POST
 * /v1.0/users/{id}/revokeSignInSessions`). Graph answers 200 `{"value": true}` (documented 204): any 2xx is done.
 */
import { action } from "../types.ts";
import { GRAPH_REQUESTS, ID_PLACEHOLDER, type GraphClient } from "./transport.ts";
import { UserInput, idOf, resolveUser } from "./user.ts";

export const revokeSessions = action({
  classification: "containment",
  idempotent: true,
  description: "Revoke a user's Entra ID sign-in sessions and refresh tokens (the user must sign in again)",
  input: UserInput,
  resolve: resolveUser,
  run: async (client: GraphClient, { input, signal, resolved }) => {
    const id = await idOf(client, input, signal, resolved);
    await client.api.call(GRAPH_REQUESTS.revokeSessions(id), signal, "revoke sessions");
    return { user_id: id, sessions: "revoked" };
  },
  preview: (input) => [GRAPH_REQUESTS.getUser(input.user), GRAPH_REQUESTS.revokeSessions(ID_PLACEHOLDER)],
});
