/**
 * ServiceNow Table API (ServiceNowDocs c_TableAPI.md: GET / POST / PATCH `/api/now/table/{table}`; "Inbound REST
 * API rate limiting"): basic auth, JSON bodies, every value a string, answers wrapped in `{result}`, errors as
 * `{error: {message, detail}, status: "failure"}`, 429 with Retry-After (and X-RateLimit-Reset, Unix seconds) when
 * the instance has a rate limit rule.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, retryAfterMs, type HttpRequest, type HttpResponse } from "../http.ts";
import { TicketRegistry } from "../ticket-registry.ts";
import type { ConnectorEnv, PlannedRequest } from "../types.ts";

const CHECK_AUTH =
  "check RIPOSTE_CONNECTOR_SERVICENOW_USERNAME and RIPOSTE_CONNECTOR_SERVICENOW_PASSWORD (a local user with web service access)";
const CHECK_ROLE = "the user lacks a role: give it itil (read, create and update incidents)";

/** A dedup key, stored as the incident's correlation_id (100 characters at most; no `^` or `=` of encoded queries). */
export const DEDUP_KEY = /^[A-Za-z0-9._:-]{1,100}$/;
export const SYS_ID = /^[0-9a-f]{32}$/;

/** Milliseconds to wait on a 429: Retry-After if sent, else X-RateLimit-Reset (Unix seconds). */
export function serviceNowRetryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const after = retryAfterMs(headers.get("retry-after"), now);
  if (after !== undefined) return after;
  const reset = Number(headers.get("x-ratelimit-reset"));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
}

/** The coded error of a ServiceNow error answer, with its message and detail and what to check. */
export function serviceNowError(res: HttpResponse, what: string): RiposteError {
  const b = (typeof res.body === "object" && res.body !== null ? res.body : {}) as Record<string, unknown>;
  const e = (typeof b["error"] === "object" && b["error"] !== null ? b["error"] : {}) as Record<string, unknown>;
  const text = [e["message"], e["detail"]].filter((x) => typeof x === "string" && x !== "").join(": ");
  if (text === "" && res.status !== 401 && res.status !== 403 && res.status !== 429)
    return httpError("ServiceNow", res, what);
  const said = redactUrls(`ServiceNow ${what}: HTTP ${res.status}${text ? ` ${text.slice(0, 400)}` : ""}`);
  if (res.status === 401) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_AUTH})`);
  if (res.status === 403) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_ROLE})`);
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", said);
  if (res.status === 429) {
    const after = serviceNowRetryAfterMs(res.headers);
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", said, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

const TABLE = "/api/now/table/incident";
const FIELDS = "sys_id,number,state";

/** The requests of each call, shared by the calls and the dry-run preview. */
export const SN_REQUESTS = {
  /** The oldest incident with this correlation_id. */
  findByCorrelation: (key: string): PlannedRequest => ({
    method: "GET",
    path: `${TABLE}?${new URLSearchParams({
      sysparm_query: `correlation_id=${key}^ORDERBYsys_created_on`,
      sysparm_fields: FIELDS,
      sysparm_limit: "1",
    }).toString()}`,
  }),
  create: (fields: Record<string, string>): PlannedRequest => ({
    method: "POST",
    path: `${TABLE}?sysparm_fields=${encodeURIComponent(FIELDS)}`,
    body: fields,
  }),
  update: (sysId: string, fields: Record<string, string>): PlannedRequest => ({
    method: "PATCH",
    path: `${TABLE}/${encodeURIComponent(sysId)}?sysparm_fields=${encodeURIComponent(FIELDS)}`,
    body: fields,
  }),
} as const;

export interface IncidentRef {
  readonly sys_id: string;
  readonly number: string;
  readonly state: string;
  readonly url: string;
}

export class ServiceNowClient {
  readonly http: HttpTransport;
  /** The incidents Riposte opened, by dedup key (shared by every executor). */
  readonly registry: TicketRegistry;
  private readonly site: string;
  private readonly auth: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>, env: ConnectorEnv) {
    this.http = new HttpTransport("ServiceNow", url);
    this.registry = new TicketRegistry(env, "servicenow");
    this.site = url.replace(/\/+$/, "");
    const basic = Buffer.from(`${credentials["username"] ?? ""}:${credentials["password"] ?? ""}`).toString("base64");
    this.auth = `Basic ${basic}`;
  }

  async call(planned: PlannedRequest, signal: AbortSignal, what: string): Promise<HttpResponse> {
    const [path = "", query] = planned.path.split("?");
    const req: HttpRequest = {
      method: planned.method as HttpRequest["method"],
      path,
      ...(query ? { query: Object.fromEntries(new URLSearchParams(query)) } : {}),
      headers: { authorization: this.auth },
      ...(planned.body === undefined ? {} : { json: planned.body }),
      signal,
    };
    const res = await this.http.send(req);
    if (res.status < 200 || res.status > 299) throw serviceNowError(res, what);
    return res;
  }

  /** An incident reference from a record, refusing an answer without a sys_id. */
  ref(record: unknown, what: string): IncidentRef {
    const r = (typeof record === "object" && record !== null ? record : {}) as Record<string, unknown>;
    const sysId = r["sys_id"];
    if (typeof sysId !== "string" || !SYS_ID.test(sysId))
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `ServiceNow ${what}: the answer has no incident sys_id`);
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    return {
      sys_id: sysId,
      number: text(r["number"]),
      state: text(r["state"]),
      url: `${this.site}/incident.do?sys_id=${sysId}`,
    };
  }

  /** The `result` of an answer (an object for one record, an array for a query). */
  result(res: HttpResponse, what: string): unknown {
    const b = res.body as { result?: unknown } | undefined;
    if (typeof b !== "object" || b === null || b.result === undefined)
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `ServiceNow ${what}: the answer has no result`);
    return b.result;
  }

  async findByCorrelation(key: string, signal: AbortSignal): Promise<IncidentRef | undefined> {
    const result = this.result(await this.call(SN_REQUESTS.findByCorrelation(key), signal, "search"), "search");
    if (!Array.isArray(result))
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "ServiceNow search: the result is not a list");
    return result.length === 0 ? undefined : this.ref(result[0], "search");
  }
}
