/** `get_user`: read-only enrichment, an Entra ID user's id, UPN, mail, display name and whether it is enabled. */
import { action } from "../types.ts";
import { GRAPH_REQUESTS, type GraphClient } from "./transport.ts";
import { UserInput, target } from "./user.ts";

export const getUser = action({
  classification: "enrich",
  idempotent: true,
  description: "Look an Entra ID user up by id or userPrincipalName (UPN, mail, display name, account enabled)",
  input: UserInput,
  run: async (client: GraphClient, { input, signal }) => target(await client.user(input.user, signal)).detail,
  preview: (input) => [GRAPH_REQUESTS.getUser(input.user)],
});
