/**
 * MISP `POST /attributes/restSearch` (MISP OpenAPI, restSearchAttributes): the raw auth key in `Authorization` (no
 * Bearer), JSON in and out, `{"response": {"Attribute": [...]}}` paged by `limit` and `page`; CakePHP errors as
 * `{name, message, url}` (403 for a missing or wrong key or a user without API access).
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

const CHECK_KEY =
  "check RIPOSTE_CONNECTOR_MISP_API_KEY: the auth key of an API-enabled MISP user (sent as the Authorization header)";

export interface MispQuery {
  readonly value: string;
  readonly type?: readonly string[];
  readonly to_ids?: boolean;
  readonly limit: number;
  readonly page: number;
}

export const searchRequest = (q: MispQuery): PlannedRequest => ({
  method: "POST",
  path: "/attributes/restSearch",
  body: {
    returnFormat: "json",
    value: q.value,
    ...(q.type && q.type.length > 0 ? { type: q.type } : {}),
    ...(q.to_ids === undefined ? {} : { to_ids: q.to_ids }),
    includeEventTags: true,
    limit: q.limit,
    page: q.page,
  },
});

export function mispError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const message = typeof b["message"] === "string" ? b["message"] : typeof b["name"] === "string" ? b["name"] : "";
  if (message === "" && res.status !== 401 && res.status !== 403 && res.status !== 429)
    return httpError("MISP", res, what);
  const said = redactUrls(`MISP ${what}: HTTP ${res.status}${message ? ` ${message.slice(0, 300)}` : ""}`);
  if (res.status === 401 || res.status === 403)
    return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_KEY})`);
  if (res.status === 429) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** One matching attribute, the fields later steps use. */
export interface MispMatch {
  readonly [k: string]: unknown;
  readonly id: string;
  readonly event_id: string;
  readonly event_info: string;
  readonly type: string;
  readonly category: string;
  readonly value: string;
  readonly to_ids: boolean;
  readonly tags: string[];
  readonly timestamp: string;
}

const text = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

function tagNames(v: unknown): string[] {
  return Array.isArray(v) ? v.map((t) => text((t as { name?: unknown } | null)?.name)).filter((n) => n !== "") : [];
}

export function matchOf(a: unknown): MispMatch {
  const r = (typeof a === "object" && a !== null ? a : {}) as Record<string, unknown>;
  const event = (typeof r["Event"] === "object" && r["Event"] !== null ? r["Event"] : {}) as Record<string, unknown>;
  const toIds = r["to_ids"];
  return {
    id: text(r["id"]),
    event_id: text(r["event_id"]),
    event_info: text(event["info"]),
    type: text(r["type"]),
    category: text(r["category"]),
    value: text(r["value"]),
    to_ids: toIds === true || toIds === "1" || toIds === 1,
    tags: [...new Set([...tagNames(r["Tag"]), ...tagNames(event["Tag"])])],
    timestamp: text(r["timestamp"]),
  };
}

/** The attributes of one page, refusing an answer that is not a restSearch response. */
export function pageOf(body: unknown): unknown[] {
  const attrs = (body as { response?: { Attribute?: unknown } } | undefined)?.response?.Attribute;
  if (!Array.isArray(attrs))
    throw new RiposteError(
      "RIPOSTE_CONNECTOR_UNAVAILABLE",
      "MISP restSearch: the answer has no response.Attribute list",
    );
  return attrs;
}

export class MispClient {
  readonly http: HttpTransport;
  private readonly key: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("MISP", url);
    this.key = credentials["api_key"] ?? "";
  }

  async page(q: MispQuery, signal: AbortSignal): Promise<unknown[]> {
    const planned = searchRequest(q);
    const res = await this.http.send({
      method: "POST",
      path: planned.path,
      json: planned.body,
      headers: { authorization: this.key },
      signal,
    });
    if (res.status !== 200) throw mispError(res, "restSearch");
    return pageOf(res.body);
  }
}
