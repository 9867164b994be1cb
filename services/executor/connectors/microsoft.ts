/**
 * What the Microsoft connectors (Defender for Endpoint, Graph) share: the Microsoft identity platform's OAuth2
 * client credentials grant (`POST {auth}/{tenant}/oauth2/v2.0/token`, learn.microsoft.com "OAuth 2.0 client
 * credentials flow"), a token cached until a minute before it expires and refreshed once when the API answers 401,
 * Microsoft's JSON error body (`{"error": {"code", "message"}}`) as coded errors, and OData query text.
 */
import { RiposteError } from "../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpRequest, type HttpResponse } from "./http.ts";
import type { PlannedRequest } from "./types.ts";

/** The global cloud's login endpoint, used unless `_AUTH_URL` names another (a sovereign cloud, a test). */
export const MICROSOFT_LOGIN = "https://login.microsoftonline.com";

/** A tenant id (GUID) or a tenant domain name: nothing that could change the token URL's path. */
const TENANT = /^(?!\.{1,2}$)[A-Za-z0-9.-]{1,253}$/;

/** An OData string literal: quoted, each single quote doubled, so a value cannot end the literal early. */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** A query value percent-encoded exactly as it is sent (the quote too, which the URL parser would encode anyway). */
export const queryValue = (value: string) => encodeURIComponent(value).replace(/'/g, "%27");

/** `path?k=v&...` with each value percent-encoded; the names ($filter, $select) are sent as written. */
export function withQuery(path: string, params: Readonly<Record<string, string>>): string {
  const q = Object.entries(params).map(([k, v]) => `${k}=${queryValue(v)}`);
  return q.length === 0 ? path : `${path}?${q.join("&")}`;
}

/** What to tell the operator for each kind of refusal, naming the connector's variables and permissions. */
export interface MicrosoftHints {
  /** The connector's configuration name (DEFENDER, GRAPH): variables are named after it. */
  readonly connector: string;
  /** The application permissions the app registration needs (admin consent granted). */
  readonly permissions: string;
}

const credentialsHint = (h: MicrosoftHints) =>
  `check RIPOSTE_CONNECTOR_${h.connector}_TENANT_ID, _CLIENT_ID and _CLIENT_SECRET: an app registration's client secret that has not expired`;

/** The coded error of a Microsoft API error answer, naming Microsoft's error code and what to check. */
export function microsoftError(vendor: string, res: HttpResponse, what: string, hints: MicrosoftHints): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const e = (typeof b["error"] === "object" && b["error"] !== null ? b["error"] : {}) as Record<string, unknown>;
  const code = typeof e["code"] === "string" ? e["code"] : "";
  if (code === "" && res.status >= 500) return httpError(vendor, res, what);
  const message = typeof e["message"] === "string" ? e["message"].slice(0, 300) : "";
  const said = redactUrls(
    `${vendor} ${what}: HTTP ${res.status}${code ? ` ${code}` : ""}${message ? ` ${message}` : ""}`,
  );
  if (res.status === 401)
    return new RiposteError(
      "RIPOSTE_CONNECTOR_AUTH",
      `${said} (the token was refused twice; ${credentialsHint(hints)})`,
    );
  if (res.status === 403)
    return new RiposteError(
      "RIPOSTE_CONNECTOR_AUTH",
      `${said} (the app registration lacks a permission: grant ${hints.permissions} as application permissions, with admin consent)`,
    );
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status === 429 || res.status === 503) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    const coded = res.status === 429 ? "RIPOSTE_CONNECTOR_RATE_LIMITED" : "RIPOSTE_CONNECTOR_UNAVAILABLE";
    return new RiposteError(coded, said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** The token request's error: Entra answers `{"error": "invalid_client", "error_description": "AADSTS...: ..."}`. */
function tokenError(vendor: string, res: HttpResponse, hints: MicrosoftHints): RiposteError {
  if (res.status === 429 || res.status >= 500) return httpError(vendor, res, "token request");
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const error = typeof b["error"] === "string" ? b["error"] : "";
  // The first line only: the rest is trace and correlation ids and a timestamp.
  const description =
    typeof b["error_description"] === "string" ? (b["error_description"].split(/\r?\n/)[0] ?? "").slice(0, 300) : "";
  return new RiposteError(
    "RIPOSTE_CONNECTOR_AUTH",
    redactUrls(
      `${vendor} token request: HTTP ${res.status}${error ? ` ${error}` : ""}${description ? ` ${description}` : ""} (${credentialsHint(hints)}; RIPOSTE_CONNECTOR_${hints.connector}_AUTH_URL if not the global cloud)`,
    ),
  );
}

/** Entra ID client credentials of one app registration, for one scope (`https://graph.microsoft.com/.default`). */
export class EntraTokens {
  private readonly http: HttpTransport;
  private readonly vendor: string;
  private readonly hints: MicrosoftHints;
  private readonly tenant: string;
  private readonly form: Readonly<Record<string, string>>;
  private readonly now: () => number;
  private token: { value: string; expires: number } | undefined;
  /** The token request under way: concurrent actions share it rather than each ask for a token. */
  private pending: Promise<string> | undefined;

  constructor(
    vendor: string,
    hints: MicrosoftHints,
    credentials: Readonly<Record<string, string>>,
    scope: string,
    now: () => number = Date.now,
  ) {
    this.vendor = vendor;
    this.hints = hints;
    this.now = now;
    const tenant = credentials["tenant_id"] ?? "";
    if (!TENANT.test(tenant))
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        `RIPOSTE_CONNECTOR_${hints.connector}_TENANT_ID must be a tenant id (GUID) or a tenant domain name`,
      );
    this.tenant = tenant;
    this.http = new HttpTransport(`${vendor} login`, credentials["auth_url"] ?? MICROSOFT_LOGIN);
    this.form = {
      grant_type: "client_credentials",
      client_id: credentials["client_id"] ?? "",
      client_secret: credentials["client_secret"] ?? "",
      scope,
    };
  }

  /** A valid access token: the cached one, or a new one. */
  async bearer(signal: AbortSignal): Promise<string> {
    if (this.token && this.token.expires > this.now()) return this.token.value;
    this.pending ??= this.request(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets a token the API refused (unless a newer one already replaced it). */
  invalidate(token: string): void {
    if (this.token?.value === token) this.token = undefined;
  }

  private async request(signal: AbortSignal): Promise<string> {
    const res = await this.http.send({
      method: "POST",
      path: `/${encodeURIComponent(this.tenant)}/oauth2/v2.0/token`,
      form: this.form,
      signal,
    });
    if (res.status < 200 || res.status > 299) throw tokenError(this.vendor, res, this.hints);
    const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
    const value = b["access_token"];
    if (typeof value !== "string" || value === "")
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `${this.vendor} token response has no access_token`);
    const lifetime = typeof b["expires_in"] === "number" ? b["expires_in"] : Number(b["expires_in"] ?? 3599);
    this.token = {
      value,
      expires: this.now() + Math.max(30, (Number.isFinite(lifetime) ? lifetime : 3599) - 60) * 1000,
    };
    return value;
  }
}

/** A Microsoft REST API behind Entra tokens: planned requests sent with a bearer token, a 401 refreshing it once. */
export class MicrosoftApi {
  readonly http: HttpTransport;
  readonly tokens: EntraTokens;
  readonly vendor: string;
  readonly hints: MicrosoftHints;
  /** The configured base URL as sent, for recognising the API's own paging links. */
  readonly base: string;

  constructor(vendor: string, hints: MicrosoftHints, url: string, tokens: EntraTokens) {
    this.vendor = vendor;
    this.hints = hints;
    this.http = new HttpTransport(vendor, url);
    this.tokens = tokens;
    this.base = url.endsWith("/") ? url : `${url}/`;
  }

  /** The raw answer (the caller decides what a status means); a 401 gets one new token and one more try. */
  async send(planned: PlannedRequest, signal: AbortSignal): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.bearer(signal);
      const req: HttpRequest = {
        method: planned.method as HttpRequest["method"],
        path: planned.path,
        headers: { authorization: `Bearer ${token}` },
        ...(planned.body === undefined ? {} : { json: planned.body }),
        signal,
      };
      const res = await this.http.send(req);
      if (res.status !== 401 || attempt > 0) return res;
      this.tokens.invalidate(token);
    }
  }

  /** The coded error of an answer that is not 2xx. */
  error(res: HttpResponse, what: string): RiposteError {
    return microsoftError(this.vendor, res, what, this.hints);
  }

  /** Sends and throws the coded error unless the answer is 2xx. */
  async call(planned: PlannedRequest, signal: AbortSignal, what: string): Promise<HttpResponse> {
    const res = await this.send(planned, signal);
    if (res.status < 200 || res.status > 299) throw this.error(res, what);
    return res;
  }

  /**
   * The path of an `@odata.nextLink` to follow, or undefined when there is none. A link that leaves the configured
   * API is refused: the bearer token would go with it.
   */
  nextPath(link: unknown, what: string): string | undefined {
    if (link === undefined || link === null) return undefined;
    if (typeof link !== "string" || !link.startsWith(this.base))
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_REJECTED",
        `${this.vendor} ${what}: the next page link is not under the configured API URL; not followed (check the connector's URL, and for a proxy rewriting links)`,
      );
    return `/${link.slice(this.base.length)}`;
  }
}

/** The JSON object of an answer, or a retriable error naming what was expected (a proxy's HTML page, ...). */
export function objectBody(vendor: string, res: HttpResponse, what: string): Record<string, unknown> {
  if (typeof res.body === "object" && res.body !== null && !Array.isArray(res.body))
    return res.body as Record<string, unknown>;
  throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `${vendor} ${what}: the answer is not a JSON object`);
}
