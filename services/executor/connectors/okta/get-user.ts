/** `get_user`: read-only enrichment, an Okta user's status, login and email (`GET /api/v1/users/{id}`). */
import { action } from "../types.ts";
import { OKTA_REQUESTS, type OktaClient } from "./transport.ts";
import { UserInput, target } from "./user.ts";

export const getUser = action({
  classification: "enrich",
  idempotent: true,
  description: "Look a user up by login or id (status, login, email)",
  input: UserInput,
  run: async (client: OktaClient, { input, signal }) => target(await client.user(input.user, signal)).detail,
  preview: (input) => [OKTA_REQUESTS.getUser(input.user)],
});
