/**
 * The HTTP transport every connector uses: base URL from configuration only, JSON or form bodies, trace context
 * on every request, and one mapping from HTTP failures to coded errors (401/403, 404, 429 + Retry-After, 5xx,
 * timeouts). Only the transport and the connector's auth see credentials.
 */
import { context, propagation } from "@opentelemetry/api";
import { RiposteError, messageOf } from "../../shared/errors.ts";

export interface HttpRequest {
  readonly method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly form?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/** Milliseconds to wait from a Retry-After header (seconds or HTTP date). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** The coded error for a failed HTTP response. */
export function httpError(vendor: string, res: HttpResponse, what: string): RiposteError {
  const detail = typeof res.body === "string" ? res.body.slice(0, 300) : JSON.stringify(res.body ?? "").slice(0, 300);
  const msg = `${vendor} ${what}: HTTP ${res.status} ${detail}`;
  if (res.status === 401 || res.status === 403)
    return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${msg} (check the connector's credentials and API scopes)`);
  if (res.status === 404) return new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", msg);
  if (res.status === 429) {
    const after = retryAfterMs(res.headers.get("retry-after"));
    return new RiposteError("RIPOSTE_CONNECTOR_RATE_LIMITED", msg, after === undefined ? {} : { retryAfterMs: after });
  }
  if (res.status >= 500) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", msg);
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", msg);
}

export class HttpTransport {
  private readonly base: URL;
  private readonly vendor: string;

  constructor(vendor: string, baseUrl: string) {
    this.vendor = vendor;
    this.base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  }

  /** Sends a request; network failures and timeouts become coded errors, HTTP statuses are returned. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.path.replace(/^\//, ""), this.base);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: "application/json", ...req.headers };
    propagation.inject(context.active(), headers);
    let body: string | undefined;
    if (req.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(req.form as Record<string, string>).toString();
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        body: body ?? null,
        signal: req.signal ?? null,
        redirect: "error",
      });
    } catch (e) {
      const name = (e as Error).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new RiposteError(
          "RIPOSTE_CONNECTOR_TIMEOUT",
          `${this.vendor} ${req.method} ${url.pathname}: no answer in time`,
          { cause: e },
        );
      }
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_UNAVAILABLE",
        `${this.vendor} ${req.method} ${url.pathname}: ${messageOf(e)} ${messageOf((e as Error).cause ?? "")}`.trim(),
        { cause: e },
      );
    }
    const text = await res.text().catch(() => "");
    let parsed: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** Sends a request and throws the coded error unless the status is 2xx. */
  async ok(req: HttpRequest, what: string): Promise<HttpResponse> {
    const res = await this.send(req);
    if (res.status < 200 || res.status > 299) throw httpError(this.vendor, res, what);
    return res;
  }
}
