/**
 * The Mimecast API 2.0 transport (developer.services.mimecast.com: "API 2.0 Overview" authentication, Blocked
 * Senders policy create/get/delete, TTP URL Protection managed URLs): OAuth2 client credentials at `POST
 * /oauth/token` (a 30-minute bearer token, cached until a minute before expiry, refreshed once on 401), JSON bodies
 * `{meta, data: [...]}`, answers `{meta: {status, pagination}, data: [...], fail: [{errors: [{code, message,
 * retryable}]}]}` (a refusal may come as HTTP 200 with `fail`), 429 with Retry-After or X-RateLimit-Reset (ms).
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

const CHECK_CREDENTIALS =
  "check RIPOSTE_CONNECTOR_MIMECAST_CLIENT_ID and _CLIENT_SECRET: an API 2.0 application's client credentials";
const CHECK_ROLE =
  "the API application's role lacks a permission: Gateway | Policies (Blocked Senders) Edit and Services | TTP URL Protection Edit";

export const MIMECAST_PATHS = {
  token: "/oauth/token",
  createBlockedSender: "/api/policy/blockedsenders/create-policy",
  getBlockedSenders: "/api/policy/blockedsenders/get-policy",
  deleteBlockedSender: "/api/policy/blockedsenders/delete-policy",
  createManagedUrl: "/api/ttp/url/create-managed-url",
  getManagedUrls: "/api/ttp/url/get-all-managed-urls",
  deleteManagedUrl: "/api/ttp/url/delete-managed-url",
} as const;

/** The most pages of blocked-sender policies read. */
const MAX_PAGES = 50;

/** Milliseconds to wait after a 429: Retry-After (seconds), else X-RateLimit-Reset (milliseconds, per Mimecast). */
export function mimecastRetryAfterMs(headers: Headers): number | undefined {
  const after = retryAfterMs(headers.get("retry-after"));
  if (after !== undefined) return after;
  const reset = Number(headers.get("x-ratelimit-reset"));
  return Number.isFinite(reset) && reset > 0 ? reset : undefined;
}

interface Fail {
  code: string;
  message: string;
  retryable: boolean;
}

function fails(body: unknown): Fail[] {
  const f = (body as { fail?: unknown } | null)?.fail;
  if (!Array.isArray(f)) return [];
  return f.flatMap((item: unknown) => {
    const errors = (item as { errors?: unknown } | null)?.errors;
    return Array.isArray(errors)
      ? errors.map((e: unknown) => {
          const x = (e ?? {}) as Record<string, unknown>;
          return {
            code: typeof x["code"] === "string" ? x["code"] : "",
            message: typeof x["message"] === "string" ? x["message"].slice(0, 200) : "",
            retryable: x["retryable"] === true,
          };
        })
      : [{ code: "", message: "", retryable: false }];
  });
}

/** The coded error of a Mimecast answer that failed (a non-2xx status, or `fail` entries in a 200). */
export function mimecastError(res: HttpResponse, what: string): RiposteError {
  const f = fails(res.body);
  const detail = f.map((e) => `${e.code}${e.message ? ` ${e.message}` : ""}`.trim()).join("; ");
  if (detail === "" && res.status >= 500) return httpError("Mimecast", res, what);
  const said = redactUrls(`Mimecast ${what}: HTTP ${res.status}${detail ? ` ${detail}` : ""}`);
  if (res.status === 401) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_CREDENTIALS})`);
  if (res.status === 403) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_ROLE})`);
  if (res.status === 429) {
    const after = mimecastRetryAfterMs(res.headers);
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status >= 500 || (f.length > 0 && f.every((e) => e.retryable)))
    return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

export class MimecastClient {
  readonly http: HttpTransport;
  private readonly credentials: Readonly<Record<string, string>>;
  private readonly now: () => number;
  private token: { value: string; expires: number } | undefined;

  constructor(url: string, credentials: Readonly<Record<string, string>>, now: () => number = Date.now) {
    this.http = new HttpTransport("Mimecast", url);
    this.credentials = credentials;
    this.now = now;
  }

  private async bearer(signal: AbortSignal): Promise<string> {
    if (this.token && this.token.expires > this.now()) return this.token.value;
    const res = await this.http.send({
      method: "POST",
      path: MIMECAST_PATHS.token,
      form: {
        client_id: this.credentials["client_id"] ?? "",
        client_secret: this.credentials["client_secret"] ?? "",
        grant_type: "client_credentials",
      },
      signal,
    });
    if (res.status === 400 || res.status === 401 || res.status === 403)
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_AUTH",
        `Mimecast token request: HTTP ${res.status} (${CHECK_CREDENTIALS})`,
      );
    if (res.status < 200 || res.status > 299) throw mimecastError(res, "token request");
    const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
    if (typeof b["access_token"] !== "string" || b["access_token"] === "")
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Mimecast token response has no access_token");
    const lifetime = typeof b["expires_in"] === "number" ? b["expires_in"] : 1800;
    this.token = { value: b["access_token"], expires: this.now() + Math.max(30, lifetime - 60) * 1000 };
    return b["access_token"];
  }

  /** Sends a planned request with a bearer token (a 401 gets one new token); the body when Mimecast succeeded. */
  async call(planned: PlannedRequest, signal: AbortSignal, what: string): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.bearer(signal);
      const res = await this.http.send({
        method: "POST",
        path: planned.path,
        headers: { authorization: `Bearer ${token}` },
        json: planned.body ?? { data: [] },
        signal,
      });
      if (res.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      if (res.status < 200 || res.status > 299 || fails(res.body).length > 0) throw mimecastError(res, what);
      if (typeof res.body !== "object" || res.body === null || !Array.isArray((res.body as { data?: unknown }).data))
        throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `Mimecast ${what}: the answer has no data list`);
      return res.body as Record<string, unknown>;
    }
  }

  /** Every Blocked Senders policy, all pages. */
  async blockedSenders(signal: AbortSignal): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.call(MIMECAST_REQUESTS.getBlockedSenders(token), signal, "list blocked senders");
      out.push(
        ...(body["data"] as unknown[]).filter((p): p is Record<string, unknown> => typeof p === "object" && p !== null),
      );
      const next = (body["meta"] as { pagination?: { next?: unknown } } | undefined)?.pagination?.next;
      if (typeof next !== "string" || next === "") return out;
      token = next;
    }
    throw new RiposteError("RIPOSTE_CONNECTOR_REJECTED", `Mimecast list blocked senders: more than ${MAX_PAGES} pages`);
  }
}

/** A Blocked Senders policy's sender: an address or a domain, as the policy's `from` names it. */
export function policySender(p: Record<string, unknown>): string {
  const from = ((p["policy"] as Record<string, unknown> | undefined)?.["from"] ?? {}) as Record<string, unknown>;
  const v = from["emailAddress"] ?? from["emailDomain"];
  return typeof v === "string" ? v.toLowerCase() : "";
}

/** The requests of each call, shared by the calls and the dry-run preview (all are POSTs, as Mimecast's API is). */
export const MIMECAST_REQUESTS = {
  getBlockedSenders: (pageToken?: string): PlannedRequest => ({
    method: "POST",
    path: MIMECAST_PATHS.getBlockedSenders,
    body: { meta: { pagination: { pageSize: 100, ...(pageToken ? { pageToken } : {}) } }, data: [] },
  }),
  createBlockedSender: (sender: string, description: string): PlannedRequest => ({
    method: "POST",
    path: MIMECAST_PATHS.createBlockedSender,
    body: {
      data: [
        {
          option: "block_sender",
          policy: {
            description,
            // Both the envelope and the header From: a phish may forge either.
            fromPart: "both",
            fromType: sender.includes("@") ? "individual_email_address" : "email_domain",
            fromValue: sender,
            toType: "everyone",
          },
        },
      ],
    },
  }),
  deleteBlockedSender: (id: string): PlannedRequest => ({
    method: "POST",
    path: MIMECAST_PATHS.deleteBlockedSender,
    body: { data: [{ id }] },
  }),
  getManagedUrls: (): PlannedRequest => ({ method: "POST", path: MIMECAST_PATHS.getManagedUrls, body: { data: [] } }),
  createManagedUrl: (url: string, matchType: "explicit" | "domain", comment: string): PlannedRequest => ({
    method: "POST",
    path: MIMECAST_PATHS.createManagedUrl,
    body: { data: [{ url, action: "block", matchType, comment, disableLogClick: false }] },
  }),
  deleteManagedUrl: (id: string): PlannedRequest => ({
    method: "POST",
    path: MIMECAST_PATHS.deleteManagedUrl,
    body: { data: [{ id }] },
  }),
} as const;
