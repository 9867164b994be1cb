/**
 * The HTTP API, built by a factory (tests use `inject`, `listen` happens in the CLI):
 * - `POST /v1/alerts/:source` ingest (JSON object, array, NDJSON, text lines; gzip), 202 once durable
 * - `GET|PATCH /v1/incidents...` incidents from shared state (incidents.ts)
 * - `GET /v1/runs...`, `GET /v1/actions` playbook runs and their audit records from shared state (runs.ts)
 * - `GET /v1/stats` counters, `GET /metrics` Prometheus text, `GET /healthz` liveness (no auth)
 */
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import { RiposteError, isRiposteError, messageOf, type ErrorCode } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "../shared/metrics.ts";
import { inboundTrace, tracesExported } from "../shared/telemetry.ts";
import { requestContext, traceRequests } from "./server-spans.ts";
import { EDL_NAME, SOURCE_NAME } from "../shared/config.ts";
import { DEFAULT_LIMITS, splitBodyAsync, type SplitLimits } from "../ingest/body.ts";
import type { Ingestor } from "../ingest/ingestor.ts";
import { bearerOf, mayIngest, safeEqual, signatureProblem, signatureNonce, SignatureNonces } from "./auth.ts";
import type { ReplayReport } from "../ingest/replay.ts";
import { ROUTES, ReplayArgs, docsPage, fastifyPath, openApiDocument, type RouteDoc } from "./openapi.ts";
import { atLeast, type ApiToken, type Role } from "../shared/roles.ts";
import { principalFor, principalOf, setPrincipal, type Principal } from "./principal.ts";
import { auditRecord, errorCodeOf, requestSummary, type ApiAuditRecord } from "./audit.ts";
import { approvalRoutes, type ApprovalsApi } from "./approvals.ts";
import { containmentRoutes, type ContainmentApi } from "./containment.ts";
import { trailView, type TrailStore } from "./trail.ts";
import { incidentRoutes, type StateIncidents } from "./incidents.ts";
import { runRoutes } from "./runs.ts";
import type { RunStore } from "../executor/index.ts";
import type { RulesControl } from "../correlator/live.ts";

const inflate = promisify(gunzip);

export interface ApiOptions {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** RIPOSTE_API_TOKEN: one admin token, named admin. */
  readonly apiToken: string | undefined;
  /** RIPOSTE_API_TOKENS: named tokens with roles. */
  readonly apiTokens?: readonly ApiToken[];
  /**
   * Publishes the audit record of a write to `<prefix>.audit`, before the answer is sent (a failure answers 503).
   * Writes are not audited when absent (tests of other parts).
   */
  readonly audit?: (record: ApiAuditRecord) => Promise<void>;
  /** Approvals in shared state and the topic verdicts go to (`/v1/approvals...`), where this process can publish. */
  readonly approvals?: ApprovalsApi;
  readonly sourceTokens: Readonly<Record<string, string>>;
  readonly maxBodyBytes: number;
  /** Present when this process ingests. */
  readonly ingestor?: Ingestor;
  /** Per-source HMAC secrets: a source listed here must sign its requests. */
  readonly hmacSecrets: Readonly<Record<string, string>>;
  readonly replayWindowMs: number;
  /**
   * Records a signature as used; true when it was already used within the replay window (a replayed request).
   * Shared state in distributed mode, so a signature is refused by every ingest replica; in-process by default.
   */
  readonly signatureSeen?: (nonce: string, ttlMs: number) => Promise<boolean>;
  /** Events per request and nesting depth per event (RIPOSTE_INGEST_MAX_EVENTS, RIPOSTE_INGEST_MAX_DEPTH). */
  readonly limits?: SplitLimits;
  /** Sources whose trace context is continued (RIPOSTE_TRACE_TRUSTED_SOURCES; `*` = all); others get a link only. */
  readonly traceTrustedSources?: readonly string[];
  /** DLQ replay, when this process can publish. */
  readonly replay?: (opts: {
    code?: string | undefined;
    since?: number | undefined;
    dryRun: boolean;
    fromBeginning: boolean;
  }) => Promise<ReplayReport>;
  /** Extra readiness facts for /healthz (bus kind, state kind). */
  readonly health?: () => Record<string, unknown>;
  /** The live rule set (`GET /v1/rules`, `POST /v1/rules/reload`): in-process, or through shared state. */
  readonly rules?: RulesControl;
  /** The alerts' trails (`GET /v1/alerts/{id}/trail`), indexed by the API service. */
  readonly trail?: TrailStore;
  /** The incidents in shared state (`/v1/incidents...`); the timeline adds what `trail` kept of their alerts. */
  readonly incidents?: StateIncidents;
  /** The playbook runs in shared state (`/v1/runs...`, `/v1/actions`). */
  readonly runs?: RunStore;
  /**
   * The served external dynamic lists (`GET /v1/edl/{name}`): each list's text, and the read tokens of lists
   * (RIPOSTE_EDL_TOKENS; the API token reads every list).
   */
  readonly edl?: {
    readonly tokens: Readonly<Record<string, string>>;
    text(name: string): Promise<string>;
  };
  /** The containment kill switch in shared state (`GET/PUT /v1/guards/kill-switch`), when state is reachable. */
  readonly killSwitch?: {
    get(): Promise<object>;
    set(on: boolean, reason?: string, by?: string): Promise<object>;
  };
  /** Containment leases and the guards' view (`/v1/containment...`, `GET /v1/guards`), when state is reachable. */
  readonly containment?: ContainmentApi;
}

function sendError(
  reply: FastifyReply,
  code: ErrorCode | (string & {}),
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply.code(status).send({ error: { code, message }, ...extra });
}

/** Content encodings an ingest body may have. */
const ENCODINGS = new Set(["", "identity", "gzip"]);

/** A query parameter given at most once, as a string; 400 otherwise. */
function queryParam(query: unknown, name: string): string | undefined {
  const v = query && typeof query === "object" ? (query as Record<string, unknown>)[name] : undefined;
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "" || v.length > 64) {
    throw new RiposteError("RIPOSTE_QUERY_INVALID", `give ?${name}= once, as a name of at most 64 characters`);
  }
  return v;
}

/** The password of an HTTP basic Authorization header (the user name is ignored), or undefined. */
function basicPassword(req: FastifyRequest): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, "base64").toString("utf8");
  const i = text.indexOf(":");
  return i < 0 || i === text.length - 1 ? undefined : text.slice(i + 1);
}

/** Each documented route's doc, by `METHOD fastify-path`. */
const ROUTE_DOCS = new Map(ROUTES.map((r) => [`${r.method} ${fastifyPath(r.path)}`, r]));

/** The documented route a request matched (HEAD as GET), or undefined (an unknown route). */
function routeDocOf(req: FastifyRequest): RouteDoc | undefined {
  const url = req.routeOptions.url;
  if (url === undefined) return undefined;
  return ROUTE_DOCS.get(`${req.method === "HEAD" ? "GET" : req.method} ${url}`);
}

/** The least role a route needs: what it declares; reads default to viewer, writes to admin. */
export function leastRole(r: Pick<RouteDoc, "method" | "role">): Role {
  return r.role ?? (r.method === "GET" ? "viewer" : "admin");
}

export function buildApi(opts: ApiOptions) {
  const tokens: readonly ApiToken[] = [
    ...(opts.apiToken !== undefined ? [{ name: "admin", role: "admin" as const, token: opts.apiToken }] : []),
    ...(opts.apiTokens ?? []),
  ];
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const trusted = new Set(opts.traceTrustedSources ?? []);
  const nonces = new SignatureNonces();
  const signatureSeen = opts.signatureSeen ?? ((n: string, ttl: number) => Promise.resolve(nonces.seen(n, ttl)));
  const app = Fastify({
    loggerInstance: opts.log.child({ component: "api" }),
    bodyLimit: opts.maxBodyBytes,
    logController: new LogController({ disableRequestLogging: true }),
    // Errors the router raises before a route runs get the catalogue's shape too.
    frameworkErrors: (err, req, reply) => {
      const long = err.code === "FST_ERR_MAX_PARAM_LENGTH";
      void sendError(
        reply,
        long ? "RIPOSTE_URL_TOO_LONG" : "RIPOSTE_URL_INVALID",
        long ? 414 : 400,
        long
          ? "a path segment is too long: source names are at most 64 characters"
          : `the URL ${JSON.stringify(req.url.slice(0, 200))} is not valid: check its percent-encoding`,
      );
    },
  });
  // Every registered route, for the test that checks each one is described in openapi.ts.
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook("onRoute", (r) => {
    for (const method of [r.method].flat()) if (method !== "HEAD") routes.push({ method, url: r.url });
  });
  ROUTES_OF.set(app, routes);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: opts.maxBodyBytes }, (_req, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (isRiposteError(err)) {
      if (err.code === "RIPOSTE_BUS_UNAVAILABLE") reply.header("retry-after", "5");
      return sendError(reply, err.code, err.status, err.message);
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return sendError(
        reply,
        "RIPOSTE_BODY_TOO_LARGE",
        413,
        `body larger than ${opts.maxBodyBytes} bytes (RIPOSTE_INGEST_MAX_BODY): split it into smaller batches`,
      );
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      opts.log.error({ err: messageOf(err) }, "request failed");
      return sendError(reply, "RIPOSTE_INTERNAL", 500, "internal error: the request was not processed; retry it");
    }
    // Other client errors Fastify raises (a malformed request): the catalogue's shape, the framework's status.
    return sendError(reply, status === 415 ? "RIPOSTE_MEDIA_UNSUPPORTED" : "RIPOSTE_BODY_INVALID", status, err.message);
  });

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.url === "/healthz") return;
    // A served list also takes its own token, and as a basic-auth password: what firewalls' EDL clients can send.
    const reads = req.method === "GET" || req.method === "HEAD";
    const list = opts.edl && reads ? /^\/v1\/edl\/([^/?]+)(?:\?|$)/.exec(req.url)?.[1] : undefined;
    const token = bearerOf(req.headers.authorization) ?? (list === undefined ? undefined : basicPassword(req));
    if (!token) {
      if (list === undefined)
        return sendError(reply, "RIPOSTE_AUTH_MISSING", 401, "send Authorization: Bearer <token>");
      reply.header("www-authenticate", 'Basic realm="riposte-edl"');
      return sendError(
        reply,
        "RIPOSTE_AUTH_MISSING",
        401,
        "send Authorization: Bearer <token>, or basic auth with the list's token as the password",
      );
    }
    // Only `POST /v1/alerts/{source}` itself takes a source's own token and `GET /v1/edl/{name}` its list's token;
    // every other route needs an API token whose role is at least the route's (openapi.ts declares it).
    const raw = req.method === "POST" ? /^\/v1\/alerts\/([^/?]+)(?:\?|$)/.exec(req.url)?.[1] : undefined;
    let source: string | undefined;
    try {
      source = raw === undefined ? undefined : decodeURIComponent(raw);
    } catch {
      return sendError(reply, "RIPOSTE_SOURCE_INVALID", 400, "the source name is not valid percent-encoding");
    }
    const listToken =
      list !== undefined && Object.hasOwn(opts.edl?.tokens ?? {}, list) ? opts.edl?.tokens[list] : undefined;
    const own =
      source !== undefined
        ? mayIngest(token, source, undefined, opts.sourceTokens)
        : listToken !== undefined && safeEqual(token, listToken);
    const who: Principal | undefined = principalFor(token, tokens);
    if (own) return;
    if (!who) return sendError(reply, "RIPOSTE_AUTH_INVALID", 401, "the token is not valid for this endpoint");
    setPrincipal(req, who);
    const doc = routeDocOf(req);
    const least = doc ? leastRole(doc) : "viewer";
    if (!atLeast(who.role, least))
      return sendError(
        reply,
        "RIPOSTE_ROLE_FORBIDDEN",
        403,
        `${req.method} ${doc?.path ?? req.url} needs the ${least} role or higher; token "${who.name}" is ${who.role}`,
      );
  });

  // Every write an API token made is audited before its answer leaves (allowed or refused, with its status).
  const audit = opts.audit;
  if (audit) {
    app.addHook("onSend", async (req, reply, payload) => {
      const who = principalOf(req);
      const doc = routeDocOf(req);
      if (!who || !doc?.audit) return payload;
      const params = (req.params ?? {}) as Record<string, unknown>;
      const code = errorCodeOf(payload);
      const record = auditRecord({
        actor: who.name,
        role: who.role,
        action: doc.audit,
        target: typeof params["id"] === "string" ? params["id"] : doc.path,
        method: req.method,
        path: req.url.split("?")[0] ?? "",
        request: requestSummary(req.body),
        remote: req.ip,
        result: { status: reply.statusCode, ...(code ? { code } : {}) },
      });
      try {
        await audit(record);
        return payload;
      } catch (e) {
        opts.log.error({ err: messageOf(e), action: doc.audit, actor: who.name }, "audit record not published");
        reply.code(503).header("retry-after", "5").type("application/json; charset=utf-8");
        return JSON.stringify({
          error: {
            code: "RIPOSTE_AUDIT_UNAVAILABLE",
            message: `the audit record could not be published (${messageOf(e)}): the answer is withheld; check before retrying`,
          },
        });
      }
    });
  }

  // Server spans only where spans leave the process; the ingest route's sender may continue its own trace.
  if (tracesExported())
    traceRequests(app, (req) => {
      const source = (req.params as Record<string, unknown> | undefined)?.["source"];
      return (
        req.method === "POST" &&
        req.routeOptions.url === "/v1/alerts/:source" &&
        typeof source === "string" &&
        (trusted.has("*") || trusted.has(source))
      );
    });

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, "RIPOSTE_NOT_FOUND", 404, `no route ${req.method} ${req.url.split("?")[0] ?? ""} on this service`),
  );

  app.get("/healthz", async () => ({ status: "ok", ...opts.health?.() }));
  app.get("/openapi.json", async () => openApiDocument());
  app.get("/docs", async (_req, reply) => reply.type("text/html; charset=utf-8").send(docsPage()));
  app.get("/v1/stats", async () => ({ counters: opts.metrics.snapshot() }));
  // Prometheus scrapes with `authorization: Bearer <token>` (deploy/prometheus.yml), like every other reader.
  app.get("/metrics", async (_req, reply) =>
    reply.type("text/plain; version=0.0.4; charset=utf-8").send(await opts.metrics.prometheusText()),
  );

  const ingestor = opts.ingestor;
  if (ingestor) {
    app.post<{ Params: { source: string } }>("/v1/alerts/:source", async (req, reply) => {
      const source = req.params.source;
      if (!SOURCE_NAME.test(source)) {
        throw new RiposteError(
          "RIPOSTE_SOURCE_INVALID",
          "source names are 1-64 letters, digits, '.', '_' or '-' (and not '.' or '..')",
        );
      }
      const format = queryParam(req.query, "format");
      const encoding = String(req.headers["content-encoding"] ?? "")
        .trim()
        .toLowerCase();
      if (!ENCODINGS.has(encoding)) {
        throw new RiposteError(
          "RIPOSTE_MEDIA_UNSUPPORTED",
          `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: send gzip or no encoding`,
        );
      }
      let body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const secret = Object.hasOwn(opts.hmacSecrets, source) ? opts.hmacSecrets[source] : undefined;
      if (secret !== undefined) {
        const header = req.headers["x-riposte-signature"];
        const signed = typeof header === "string" ? header : undefined;
        const problem = signatureProblem(signed, req.method, req.url, body, secret, Date.now(), opts.replayWindowMs);
        if (problem) throw new RiposteError("RIPOSTE_SIGNATURE_INVALID", problem);
        // Valid: refuse it if it was used before within the window (a captured request sent again).
        if (await signatureSeen(`${source}:${signatureNonce(signed ?? "")}`, 2 * opts.replayWindowMs)) {
          throw new RiposteError(
            "RIPOSTE_SIGNATURE_REPLAYED",
            "this signature was already used: sign every request anew (a fresh t= and body)",
          );
        }
      }
      if (encoding === "gzip") {
        try {
          body = await inflate(body, { maxOutputLength: opts.maxBodyBytes });
        } catch (e) {
          const tooLarge = (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
          throw new RiposteError(
            tooLarge ? "RIPOSTE_BODY_TOO_LARGE" : "RIPOSTE_BODY_INVALID",
            tooLarge
              ? `the gzip body inflates beyond ${opts.maxBodyBytes} bytes (RIPOSTE_INGEST_MAX_BODY): split it into smaller batches`
              : `Content-Encoding is gzip but the body does not inflate: ${messageOf(e)}`,
          );
        }
      }
      const pieces = await splitBodyAsync(body.toString("utf8"), limits);
      // Under the server span when there is one (it made the trust decision); otherwise decided here.
      const server = requestContext(req);
      const { parent, links } = server
        ? { parent: server, links: [] }
        : inboundTrace(req.headers, trusted.has("*") || trusted.has(source));
      const result = await ingestor.ingest(pieces, { source, format, parent, links });
      if (result.normalized === 0 && result.dropped === 0) {
        const first = result.items[0];
        const status = first?.code === "RIPOSTE_BODY_INVALID" ? 400 : 422;
        return sendError(reply, first?.code ?? "RIPOSTE_BODY_INVALID", status, first?.reason ?? "nothing to ingest", {
          accepted: result.accepted,
          dead_lettered: result.dead_lettered,
          failed: result.failed,
          trace_id: result.trace_id,
          items: result.items,
          items_omitted: result.items_omitted,
        });
      }
      return reply.code(202).send(result);
    });
  }
  const killSwitch = opts.killSwitch;
  if (killSwitch) {
    // Reading needs a viewer, turning it on or off an admin; turning it on pauses containment in every executor.
    app.get("/v1/guards/kill-switch", async () => killSwitch.get());
    app.put<{ Body: Buffer }>("/v1/guards/kill-switch", async (req) => {
      const usage = 'expected a JSON object {"on": true|false, "reason"?: string of at most 500 characters}';
      let body: unknown;
      try {
        body = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "");
      } catch (e) {
        throw new RiposteError("RIPOSTE_BODY_INVALID", `${usage}: ${messageOf(e)}`);
      }
      const b = (body ?? {}) as Record<string, unknown>;
      const extra =
        typeof body === "object" && body !== null ? Object.keys(b).filter((k) => k !== "on" && k !== "reason") : [];
      if (
        typeof b["on"] !== "boolean" ||
        extra.length > 0 ||
        (b["reason"] !== undefined && (typeof b["reason"] !== "string" || b["reason"].length > 500))
      )
        throw new RiposteError("RIPOSTE_BODY_INVALID", usage);
      const state = await killSwitch.set(
        b["on"],
        typeof b["reason"] === "string" ? b["reason"] : undefined,
        principalOf(req)?.name,
      );
      opts.log.warn(
        { kill_switch: state },
        b["on"] ? "containment kill switch turned on" : "containment kill switch turned off",
      );
      return state;
    });
  }
  const edl = opts.edl;
  if (edl) {
    app.get<{ Params: { name: string } }>("/v1/edl/:name", async (req, reply) => {
      if (!EDL_NAME.test(req.params.name))
        throw new RiposteError("RIPOSTE_QUERY_INVALID", "a list name is 1-64 lower-case letters, digits, '_' or '-'");
      const text = await edl.text(req.params.name);
      return reply.type("text/plain; charset=utf-8").header("cache-control", "no-store").send(text);
    });
  }
  const rules = opts.rules;
  if (rules) {
    app.get("/v1/rules", async (_req, reply) => {
      const status = await rules.status();
      if (!status)
        return sendError(
          reply,
          "RIPOSTE_NOT_FOUND",
          404,
          "no correlator has published its rule set yet: is one running?",
        );
      return status;
    });
    app.post("/v1/rules/reload", async (_req, reply) => {
      const result = await rules.reload("api");
      opts.log.warn({ result: "ok" in result ? result.ok : "requested" }, "rule reload requested through the API");
      if ("requested_at" in result) return reply.code(202).send(result);
      if (!result.ok)
        return sendError(reply, "RIPOSTE_RULE_INVALID", 422, "the rule set on disk is invalid; the running set stays", {
          result,
        });
      return result;
    });
  }
  const trail = opts.trail;
  if (trail) {
    app.get<{ Params: { id: string } }>("/v1/alerts/:id/trail", async (req, reply) => {
      const id = req.params.id;
      if (id.length === 0 || id.length > 512) {
        throw new RiposteError("RIPOSTE_QUERY_INVALID", "an alert id is 1-512 characters");
      }
      const entries = await trail.read(id);
      if (entries.length === 0) {
        return sendError(
          reply,
          "RIPOSTE_NOT_FOUND",
          404,
          "no trail for this alert id: unknown, not yet indexed, or older than RIPOSTE_TRAIL_RETENTION",
        );
      }
      return trailView(id, entries);
    });
  }
  if (opts.incidents) incidentRoutes(app, { incidents: opts.incidents, trail: opts.trail, log: opts.log });
  if (opts.approvals) approvalRoutes(app, { approvals: opts.approvals, log: opts.log });
  if (opts.runs) runRoutes(app, { runs: opts.runs });
  if (opts.containment) containmentRoutes(app, { containment: opts.containment, log: opts.log });
  const replay = opts.replay;
  if (replay) {
    app.post<{ Body: Buffer }>("/v1/dlq/replay", async (req) => {
      const text = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
      const usage =
        "expected a JSON object {code?: string, since?: ISO 8601 time, dry_run?: boolean, from_beginning?: boolean}";
      let parsed: unknown;
      try {
        parsed = text.trim() === "" ? {} : JSON.parse(text);
      } catch (e) {
        throw new RiposteError("RIPOSTE_BODY_INVALID", `${usage}: ${messageOf(e)}`);
      }
      const args = ReplayArgs.safeParse(parsed);
      if (!args.success) {
        throw new RiposteError(
          "RIPOSTE_BODY_INVALID",
          `${usage}: ${args.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
        );
      }
      const since = args.data.since === undefined ? undefined : Date.parse(args.data.since);
      if (since !== undefined && Number.isNaN(since))
        throw new RiposteError("RIPOSTE_BODY_INVALID", "since must be an ISO 8601 time");
      return replay({
        code: args.data.code,
        since,
        dryRun: args.data.dry_run === true,
        fromBeginning: args.data.from_beginning === true,
      });
    });
  }
  return app;
}

/** The API server instance. */
export type Api = ReturnType<typeof buildApi>;

const ROUTES_OF = new WeakMap<object, ReadonlyArray<{ method: string; url: string }>>();

/** The routes an API instance registered (method and Fastify path), for the OpenAPI coverage test. */
export function registeredRoutes(app: Api): ReadonlyArray<{ method: string; url: string }> {
  return ROUTES_OF.get(app) ?? [];
}
