/**
 * The HTTP transport every connector uses: base URL from configuration only, JSON or form bodies, trace context
 * on every request, and one mapping from HTTP failures to coded errors (401/403, 404, 429 + Retry-After, 5xx,
 * timeouts). Only the transport and the connector's auth see credentials. No URL leaves this layer unredacted:
 * every error message it produces has user info and query values replaced (see redactUrls).
 */
import { context, propagation } from "@opentelemetry/api";
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { RiposteError, isRiposteError, messageOf } from "../../shared/errors.ts";
import { ATTR, SpanKind, inSpan, tracesExported } from "../../shared/telemetry.ts";

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

/** The largest answer a vendor call reads (bounded work per call). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/**
 * How long an idle kept-alive connection is kept: below the usual server idle timeouts (Node 5 s, most load
 * balancers 60 s), so the client closes it before the server would, mid-request.
 */
const IDLE_MS = 4_000;
/** Methods sent again once when a reused connection turns out closed before any answer. */
const SAFE_METHODS = new Set(["GET", "PUT", "DELETE"]);

interface RawResponse {
  readonly status: number;
  /** As node:http gives them (names in lower case); made a Headers only when a connector reads them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** node:http's answer headers as a Headers (a repeated header appended once per value). */
function headersOf(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) h.append(k, one);
    else h.set(k, v);
  }
  return h;
}

/** The error of a request written to a kept-alive connection the server had closed (nothing was answered). */
function isStaleSocket(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return (e as { reusedSocket?: boolean }).reusedSocket === true && (code === "ECONNRESET" || code === "EPIPE");
}

export class HttpTransport {
  private readonly base: URL;
  private readonly vendor: string;
  /** Keep-alive connection pools, one per connector instance. */
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true, timeout: IDLE_MS, scheduling: "lifo" }),
    https: new HttpsAgent({ keepAlive: true, timeout: IDLE_MS, scheduling: "lifo" }),
  };

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
    // No span when spans stay in the process (its ids would reach nobody): the request carries the step's trace.
    if (!tracesExported()) {
      let status = "error";
      try {
        const res = await this.sendInSpan(req);
        status = String(res.status);
        return res;
      } finally {
        vendorCallObserver?.(this.vendor, req.method, status, (performance.now() - started) / 1000);
      }
    }
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
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    let raw: RawResponse;
    try {
      raw = await this.exchange(url, req.method, headers, body, req.signal);
      // A kept-alive connection the server closed while idle fails before any answer; a safe method goes again
      // once on a new connection (node:http's reusedSocket), anything else is the step's retry policy's to judge.
    } catch (e) {
      if (!isStaleSocket(e) || !SAFE_METHODS.has(req.method)) throw this.failure(e, req.method, url);
      try {
        raw = await this.exchange(url, req.method, headers, body, req.signal);
      } catch (again) {
        throw this.failure(again, req.method, url);
      }
    }
    const text = raw.body;
    let parsed: unknown = text;
    const type = raw.headers["content-type"];
    if (typeof type === "string" && type.includes("json") && text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    let made: Headers | undefined;
    return {
      status: raw.status,
      body: parsed,
      // Most answers' headers are never read (a Headers costs more to fill than the rest of the answer).
      get headers() {
        return (made ??= headersOf(raw.headers));
      },
    };
  }

  /** A failed exchange as a coded error: a timeout, or the vendor unreachable (never with a raw cause). */
  private failure(e: unknown, method: string, url: URL): RiposteError {
    const name = (e as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      return new RiposteError(
        "RIPOSTE_CONNECTOR_TIMEOUT",
        `${this.vendor} ${method} ${url.pathname}: no answer in time`,
        {
          cause: e,
        },
      );
    }
    if (isRiposteError(e)) return e;
    // No cause: the client's own errors may quote the full URL (query values included).
    return new RiposteError(
      "RIPOSTE_CONNECTOR_UNAVAILABLE",
      redactUrls(
        `${this.vendor} ${method} ${url.pathname}: ${messageOf(e)} ${messageOf((e as Error).cause ?? "")}`.trim(),
      ),
    );
  }

  /**
   * One request and its whole answer over node:http(s) with this connector's keep-alive agent (connections are
   * reused across calls: a vendor call costs no TCP or TLS handshake). Redirects are not followed (a 3xx is
   * returned as it is); an answer larger than MAX_RESPONSE_BYTES fails.
   */
  private exchange(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      const https = url.protocol === "https:";
      const send = https ? httpsRequest : httpRequest;
      const r = send(url, { method, headers, agent: https ? this.agents.https : this.agents.http, signal });
      let answered = false;
      r.on("error", (e: Error) => {
        if (!answered && r.reusedSocket) Object.assign(e, { reusedSocket: true });
        reject(e);
      });
      r.on("response", (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy();
            reject(
              new RiposteError(
                "RIPOSTE_CONNECTOR_REJECTED",
                `${this.vendor} ${method} ${url.pathname}: answer larger than ${MAX_RESPONSE_BYTES} bytes`,
              ),
            );
            return;
          }
          chunks.push(c);
        });
        res.on("error", reject);
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8"),
          });
        });
      });
      r.end(body);
    });
  }

  /** Sends a request and throws the coded error unless the status is 2xx. */
  async ok(req: HttpRequest, what: string): Promise<HttpResponse> {
    const res = await this.send(req);
    if (res.status < 200 || res.status > 299) throw httpError(this.vendor, res, what);
    return res;
  }
}
