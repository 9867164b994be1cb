/**
 * Okta Management API (okta-management-openapi-spec, management-minimal.yaml: `/api/v1/users/{id}`,
 * `/api/v1/users/{userId}/sessions`, `/api/v1/users/{id}/lifecycle/{suspend,unsuspend}`; developer.okta.com
 * "Rate limit best practices"): `Authorization: SSWS <API token>`, users found by login (email) or id, errors as
 * `{errorCode, errorSummary}`, 429 with `X-Rate-Limit-Reset` (UTC epoch seconds) to wait for.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { getUser } from "./get-user.ts";
import { revokeSessions } from "./revoke-sessions.ts";
import { suspendUser } from "./suspend-user.ts";
import { OktaClient } from "./transport.ts";
import { unsuspendUser } from "./unsuspend-user.ts";

export { OKTA_REQUESTS, OktaClient, oktaError, oktaRetryAfterMs } from "./transport.ts";

export const okta: ConnectorDescriptor<OktaClient> = {
  name: "okta",
  title: "Okta",
  credentials: ["api_token"],
  client: (url, credentials) => new OktaClient(url, credentials),
  actions: {
    revoke_sessions: revokeSessions,
    suspend_user: suspendUser,
    unsuspend_user: unsuspendUser,
    get_user: getUser,
  },
};
