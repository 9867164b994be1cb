/** `revoke_sessions`: clear a user's Okta sessions and OAuth tokens (`DELETE /api/v1/users/{id}/sessions`). */
import { action } from "../types.ts";
import { ID_PLACEHOLDER, OKTA_REQUESTS, type OktaClient } from "./transport.ts";
import { UserInput, idOf, resolveUser } from "./user.ts";

export const revokeSessions = action({
  classification: "containment",
  idempotent: true,
  description: "Clear a user's Okta sessions and OAuth tokens (the user must sign in again)",
  input: UserInput,
  resolve: resolveUser,
  run: async (client: OktaClient, { input, signal, resolved }) => {
    const id = await idOf(client, input, signal, resolved);
    await client.call(OKTA_REQUESTS.revokeSessions(id), signal, "revoke sessions");
    return { user_id: id, sessions: "revoked", oauth_tokens: "revoked" };
  },
  preview: (input) => [OKTA_REQUESTS.getUser(input.user), OKTA_REQUESTS.revokeSessions(ID_PLACEHOLDER)],
});
