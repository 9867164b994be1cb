/**
 * The Okta transport: Management API (okta-management-openapi-spec, management-minimal.yaml: `/api/v1/users/{id}`,
 * `/api/v1/users/{userId}/sessions`, `/api/v1/users/{id}/lifecycle/{suspend,unsuspend}`; developer.okta.com
 * "Rate limit best practices"): `Authorization: SSWS <API token>`, users found by login (email) or id, errors as
 * `{errorCode, errorSummary}`, 429 with `X-Rate-Limit-Reset` (UTC epoch seconds) to wait for.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpRequest, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

/** An Okta user as `GET /api/v1/users/{id}` returns it (the fields the connector reads). */
export interface OktaUser {
  readonly id: string;
  readonly status: string;
  readonly login: string;
  readonly email: string;
}

const CHECK_TOKEN =
  "check RIPOSTE_CONNECTOR_OKTA_API_TOKEN: an Okta API token (sent as SSWS) of an admin allowed to manage users";

/** Milliseconds until an Okta rate limit resets: Retry-After if sent, else `X-Rate-Limit-Reset` (epoch seconds). */
export function oktaRetryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const after = retryAfterMs(headers.get("retry-after"), now);
  if (after !== undefined) return after;
  const reset = Number(headers.get("x-rate-limit-reset"));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
}

/** The coded error of an Okta error answer, naming Okta's errorCode and what to check. */
export function oktaError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const code = typeof b["errorCode"] === "string" ? b["errorCode"] : "";
  const summary = typeof b["errorSummary"] === "string" ? b["errorSummary"] : "";
  const said = redactUrls(`Okta ${what}: HTTP ${res.status}${code ? ` ${code}` : ""}${summary ? ` ${summary}` : ""}`);
  if (res.status === 401) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_TOKEN})`);
  if (res.status === 403)
    return new RiposteError(
      "RIPOSTE_CONNECTOR_AUTH",
      `${said} (the token's admin lacks the permission: give it a role that may manage this user, e.g. Org or Help Desk admin)`,
    );
  if (res.status === 429) {
    const after = oktaRetryAfterMs(res.headers);
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (code === "" && res.status >= 500) return httpError("Okta", res, what);
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** Where a dry-run preview shows the Okta id that the user lookup would return. */
export const ID_PLACEHOLDER = "{id}";
const userPath = (user: string) => `/api/v1/users/${encodeURIComponent(user)}`;
const idPath = (id: string) => (id === ID_PLACEHOLDER ? `/api/v1/users/${id}` : userPath(id));

/** The requests of each call, shared by the calls and the dry-run preview. */
export const OKTA_REQUESTS = {
  getUser: (user: string): PlannedRequest => ({ method: "GET", path: userPath(user) }),
  // oauthTokens=true: a stolen refresh token would otherwise outlive the revoked sessions.
  revokeSessions: (id: string): PlannedRequest => ({
    method: "DELETE",
    path: `${idPath(id)}/sessions?oauthTokens=true`,
  }),
  lifecycle: (id: string, op: "suspend" | "unsuspend"): PlannedRequest => ({
    method: "POST",
    path: `${idPath(id)}/lifecycle/${op}`,
  }),
} as const;

export class OktaClient {
  readonly http: HttpTransport;
  private readonly token: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("Okta", url);
    this.token = credentials["api_token"] ?? "";
  }

  /** Sends a planned request with the SSWS token; the raw answer (the caller decides what a status means). */
  send(planned: PlannedRequest, signal: AbortSignal): Promise<HttpResponse> {
    const [path = "", query] = planned.path.split("?");
    const req: HttpRequest = {
      method: planned.method as HttpRequest["method"],
      path,
      ...(query ? { query: Object.fromEntries(new URLSearchParams(query)) } : {}),
      headers: { authorization: `SSWS ${this.token}` },
      signal,
    };
    return this.http.send(req);
  }

  async call(planned: PlannedRequest, signal: AbortSignal, what: string): Promise<HttpResponse> {
    const res = await this.send(planned, signal);
    if (res.status < 200 || res.status > 299) throw oktaError(res, what);
    return res;
  }

  /** A user by login (email) or id. */
  async user(loginOrId: string, signal: AbortSignal): Promise<OktaUser> {
    const res = await this.call(OKTA_REQUESTS.getUser(loginOrId), signal, "user lookup");
    const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
    const profile = (typeof b["profile"] === "object" && b["profile"] !== null ? b["profile"] : {}) as Record<
      string,
      unknown
    >;
    if (typeof b["id"] !== "string" || b["id"] === "")
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Okta user lookup: the answer has no user id");
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    return { id: b["id"], status: text(b["status"]), login: text(profile["login"]), email: text(profile["email"]) };
  }

  /**
   * A lifecycle change. Okta refuses one that does not apply (suspending a user who is not ACTIVE) with 400 or 403
   * E0000001; when the user is then found already in the wanted status, the change is done.
   */
  async lifecycle(id: string, op: "suspend" | "unsuspend", signal: AbortSignal): Promise<Record<string, unknown>> {
    const res = await this.send(OKTA_REQUESTS.lifecycle(id, op), signal);
    if (res.status >= 200 && res.status <= 299) return { user_id: id, action: op, status: WANTED[op] };
    const code = (res.body as { errorCode?: unknown } | undefined)?.errorCode;
    if ((res.status === 400 || res.status === 403) && code === "E0000001") {
      const now = await this.user(id, signal);
      if (now.status === WANTED[op]) return { user_id: id, action: op, status: now.status, already: true };
    }
    throw oktaError(res, op);
  }
}

/** The status each lifecycle change leads to. */
export const WANTED = { suspend: "SUSPENDED", unsuspend: "ACTIVE" } as const;
