/**
 * The Microsoft identity platform's token endpoint as the Defender, Graph fakes serve it (learn.microsoft.com,
 * "OAuth 2.0 client credentials flow"): `POST /{tenant}/oauth2/v2.0/token` with a form of grant_type
 * `client_credentials`, client_id, client_secret and scope; 200 `{token_type: "Bearer", expires_in, access_token}`,
 * or 400/401 `{error, error_description: "AADSTS...", error_codes, trace_id, correlation_id}`. Tokens expire: a test
 * can expire them all (the API then answers 401) or refuse every token. Ids and secrets are Riposte's test values.
 */
import type { Recorded, Reply } from "./http.ts";

export const ENTRA_TENANT = "11111111-2222-3333-4444-555555555555";
export const ENTRA_CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
export const ENTRA_CLIENT_SECRET = "riposte~test~client~secret~0123456789";

export interface EntraFake {
  /** The token requests received (their parsed forms). */
  readonly tokenRequests: URLSearchParams[];
  /** Every token issued so far becomes expired: the API answers 401 to it. */
  expireAll(): void;
  /** When true, the API refuses every token, even a fresh one (a revoked app, a clock far off). */
  refuseAll: boolean;
  /** Answers a token request, or undefined when `req` is not one. */
  token(req: Recorded): Reply | undefined;
  /** Whether the request carries a token the API accepts. */
  authorized(req: Recorded): boolean;
}

/** An Entra error body. */
export function entraError(error: string, code: number, description: string): Record<string, unknown> {
  return {
    error,
    error_description: `AADSTS${code}: ${description}\r\nTrace ID: 00000000-0000-0000-0000-000000000001\r\nCorrelation ID: 00000000-0000-0000-0000-000000000002\r\nTimestamp: 2026-01-01 00:00:00Z`,
    error_codes: [code],
    timestamp: "2026-01-01 00:00:00Z",
    trace_id: "00000000-0000-0000-0000-000000000001",
    correlation_id: "00000000-0000-0000-0000-000000000002",
  };
}

export function entraFake(scope: string, expiresIn = 3599): EntraFake {
  const live = new Set<string>();
  const tokenRequests: URLSearchParams[] = [];
  let seq = 0;
  const fake: EntraFake = {
    tokenRequests,
    refuseAll: false,
    expireAll: () => live.clear(),
    token(req) {
      const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.path);
      if (!m || req.method !== "POST") return undefined;
      const form = new URLSearchParams(req.body);
      tokenRequests.push(form);
      if (decodeURIComponent(m[1] as string) !== ENTRA_TENANT)
        return {
          status: 400,
          body: entraError("invalid_request", 90002, `Tenant '${m[1]}' not found.`),
        };
      if (form.get("grant_type") !== "client_credentials")
        return {
          status: 400,
          body: entraError("unsupported_grant_type", 70003, "The app requested an unsupported grant type."),
        };
      if (form.get("client_id") !== ENTRA_CLIENT_ID)
        return {
          status: 400,
          body: entraError(
            "unauthorized_client",
            700016,
            "Application with identifier was not found in the directory.",
          ),
        };
      if (form.get("client_secret") !== ENTRA_CLIENT_SECRET)
        return {
          status: 401,
          body: entraError("invalid_client", 7000215, "Invalid client secret provided."),
        };
      if (form.get("scope") !== scope)
        return {
          status: 400,
          body: entraError("invalid_scope", 1002012, "The provided value for scope is not valid."),
        };
      const token = `eyJ.riposte-test-token-${++seq}`;
      live.add(token);
      return {
        status: 200,
        body: { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
      };
    },
    authorized(req) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      return !fake.refuseAll && token !== undefined && live.has(token);
    },
  };
  return fake;
}
