/**
 * The HTTP transport every connector uses: base URL from configuration only, JSON or form bodies, trace context
 * on every request, and one mapping from HTTP failures to coded errors (401/403, 404, 429 + Retry-After, 5xx,
 * timeouts). Only the transport and the connector's auth see credentials. No URL leaves this layer unredacted:
 * every error message it produces has user info and query values replaced (see redactUrls).
 */
import { context, propagation } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import { RiposteError, messageOf } from "../../shared/errors.ts";
import { ATTR, SpanKind, inSpan } from "../../shared/telemetry.ts";

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

const REDACTED = "[redacted]";

/**
 * A URL safe for logs and audit records: user info and the fragment replaced, every query value replaced (the
 * parameter names stay, so the message still says what was asked).
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return `${REDACTED} URL`;
  }
  const userInfo = u.username !== "" || u.password !== "" ? `${REDACTED}@` : "";
  const keys = [...new Set(u.searchParams.keys())];
  const query = u.search === "" ? "" : `?${keys.map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join("&")}`;
  const hash = u.hash === "" ? "" : `#${REDACTED}`;
  return `${u.protocol}//${userInfo}${u.host}${u.pathname}${query}${hash}`;
}

/** Replaces every http(s) URL in a text (an error message, a vendor's error body) by its redacted form. */
export function redactUrls(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>`]+/gi, (m) => redactUrl(m));
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
  const body = typeof res.body === "string" ? res.body : JSON.stringify(res.body ?? "");
  const msg = redactUrls(`${vendor} ${what}: HTTP ${res.status} ${redactUrls(body).slice(0, 300)}`);
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

/** Receives every vendor call's latency: connector (vendor), method, HTTP status or "error", seconds. */
export type VendorCallObserver = (vendor: string, method: string, status: string, seconds: number) => void;
let vendorCallObserver: VendorCallObserver | undefined;

/** Sets the process's vendor-call observer (the executor does, with its metrics). */
export function observeVendorCalls(observer: VendorCallObserver | undefined): void {
  vendorCallObserver = observer;
}

export class HttpTransport {
  private readonly base: URL;
  private readonly vendor: string;

  /** Refuses a base URL with user info (configuration refuses it too): it would be sent and could be logged. */
  constructor(vendor: string, baseUrl: string) {
    this.vendor = vendor;
    let base: URL;
    try {
      base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
    } catch {
      throw new RiposteError("RIPOSTE_CONFIG_INVALID", `${vendor} connector URL is not a valid http(s) URL`);
    }
    if (base.username !== "" || base.password !== "")
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        `${vendor} connector URL must not contain user info (user:password@); configure credentials separately`,
      );
    this.base = base;
  }

  /**
   * Sends a request in a CLIENT span of its own (method, path without the query, server, status: the vendor's
   * answer is part of the alert's trace); network failures and timeouts become coded errors, HTTP statuses are
   * returned. Each call's latency goes to the vendor-call observer (the executor's metrics).
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const path = `/${req.path.replace(/^\//, "")}`;
    return inSpan(
      `${req.method} ${this.vendor}`,
      context.active(),
      {
        [ATTR.httpMethod]: req.method,
        [ATTR.urlPath]: path.split("?")[0] ?? path,
        [ATTR.serverAddress]: this.base.hostname,
        [ATTR.connector]: this.vendor,
      },
      async (span) => {
        let status = "error";
        try {
          const res = await this.sendInSpan(req);
          status = String(res.status);
          span.setAttribute(ATTR.httpStatus, res.status);
          return res;
        } finally {
          vendorCallObserver?.(this.vendor, req.method, status, (performance.now() - started) / 1000);
        }
      },
      SpanKind.CLIENT,
    );
  }

  private async sendInSpan(req: HttpRequest): Promise<HttpResponse> {
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
      // No cause: fetch's own errors may quote the full URL (query values included).
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_UNAVAILABLE",
        redactUrls(
          `${this.vendor} ${req.method} ${url.pathname}: ${messageOf(e)} ${messageOf((e as Error).cause ?? "")}`.trim(),
        ),
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
