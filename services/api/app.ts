/**
 * The HTTP API, built by a factory (tests use `inject`, `listen` happens in the CLI):
 * - `POST /v1/alerts/:source` ingest (JSON object, array, NDJSON, text lines; gzip), 202 once durable
 * - `GET /v1/stats` counters, `GET /healthz` liveness (no auth)
 */
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import { propagation, context } from "@opentelemetry/api";
import { RiposteError, isRiposteError, messageOf, type ErrorCode } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "../shared/metrics.ts";
import { splitBody } from "../ingest/body.ts";
import type { Ingestor } from "../ingest/ingestor.ts";
import { bearerOf, mayIngest, safeEqual, signatureProblem } from "./auth.ts";
import type { ReplayReport } from "../ingest/replay.ts";

const inflate = promisify(gunzip);

export interface ApiOptions {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly apiToken: string | undefined;
  readonly sourceTokens: Readonly<Record<string, string>>;
  readonly maxBodyBytes: number;
  /** Present when this process ingests. */
  readonly ingestor?: Ingestor;
  /** Per-source HMAC secrets: a source listed here must sign its requests. */
  readonly hmacSecrets: Readonly<Record<string, string>>;
  readonly replayWindowMs: number;
  /** DLQ replay, when this process can publish. */
  readonly replay?: (opts: {
    code?: string | undefined;
    since?: number | undefined;
    dryRun: boolean;
    fromBeginning: boolean;
  }) => Promise<ReplayReport>;
  /** Extra readiness facts for /healthz (bus kind, state kind). */
  readonly health?: () => Record<string, unknown>;
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

export function buildApi(opts: ApiOptions) {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: "api" }),
    bodyLimit: opts.maxBodyBytes,
    logController: new LogController({ disableRequestLogging: true }),
  });
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
        `body larger than ${opts.maxBodyBytes} bytes: split it into smaller batches`,
      );
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) opts.log.error({ err: messageOf(err) }, "request failed");
    return sendError(reply, err.code ?? "RIPOSTE_INTERNAL", status, status === 500 ? "internal error" : err.message);
  });

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.url === "/healthz") return;
    const token = bearerOf(req.headers.authorization);
    if (!token) return sendError(reply, "RIPOSTE_AUTH_MISSING", 401, "send Authorization: Bearer <token>");
    const source = /^\/v1\/alerts\/([^/?]+)/.exec(req.url)?.[1];
    const ok =
      source !== undefined
        ? mayIngest(token, decodeURIComponent(source), opts.apiToken, opts.sourceTokens)
        : opts.apiToken !== undefined && safeEqual(token, opts.apiToken);
    if (!ok) return sendError(reply, "RIPOSTE_AUTH_INVALID", 401, "the token is not valid for this endpoint");
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, "RIPOSTE_NOT_FOUND", 404, `no route ${req.method} ${req.url.split("?")[0] ?? ""} on this service`),
  );

  app.get("/healthz", async () => ({ status: "ok", ...opts.health?.() }));
  app.get("/v1/stats", async () => ({ counters: opts.metrics.snapshot() }));

  const ingestor = opts.ingestor;
  if (ingestor) {
    app.post<{ Params: { source: string }; Querystring: { format?: string } }>(
      "/v1/alerts/:source",
      async (req, reply) => {
        const source = req.params.source;
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(source)) {
          throw new RiposteError("RIPOSTE_SOURCE_UNKNOWN", "source names are 1-64 letters, digits, '.', '_' or '-'");
        }
        let body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const secret = Object.hasOwn(opts.hmacSecrets, source) ? opts.hmacSecrets[source] : undefined;
        if (secret !== undefined) {
          const header = req.headers["x-riposte-signature"];
          const problem = signatureProblem(
            typeof header === "string" ? header : undefined,
            body,
            secret,
            Date.now(),
            opts.replayWindowMs,
          );
          if (problem) throw new RiposteError("RIPOSTE_SIGNATURE_INVALID", problem);
        }
        if ((req.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
          try {
            body = await inflate(body, { maxOutputLength: opts.maxBodyBytes });
          } catch (e) {
            const tooLarge = (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
            throw new RiposteError(
              tooLarge ? "RIPOSTE_BODY_TOO_LARGE" : "RIPOSTE_BODY_INVALID",
              tooLarge
                ? `the gzip body inflates beyond ${opts.maxBodyBytes} bytes: split it into smaller batches`
                : `Content-Encoding is gzip but the body does not inflate: ${messageOf(e)}`,
            );
          }
        }
        const parent = propagation.extract(context.active(), req.headers);
        const result = await ingestor.ingest(splitBody(body.toString("utf8")), {
          source,
          format: req.query.format,
          parent,
        });
        if (result.normalized === 0) {
          const first = result.items[0];
          const status = first?.code === "RIPOSTE_BODY_INVALID" ? 400 : 422;
          return sendError(reply, first?.code ?? "RIPOSTE_BODY_INVALID", status, first?.reason ?? "nothing to ingest", {
            dead_lettered: result.dead_lettered,
            trace_id: result.trace_id,
            items: result.items,
          });
        }
        return reply.code(202).send(result);
      },
    );
  }
  const replay = opts.replay;
  if (replay) {
    app.post<{ Body: Buffer }>("/v1/dlq/replay", async (req) => {
      const text = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
      let args: { code?: string; since?: string; dry_run?: boolean; from_beginning?: boolean } = {};
      try {
        args = text.trim() === "" ? {} : (JSON.parse(text) as typeof args);
      } catch (e) {
        throw new RiposteError(
          "RIPOSTE_BODY_INVALID",
          `expected a JSON object {code?, since?, dry_run?, from_beginning?}: ${messageOf(e)}`,
        );
      }
      const since = args.since === undefined ? undefined : Date.parse(args.since);
      if (since !== undefined && Number.isNaN(since))
        throw new RiposteError("RIPOSTE_BODY_INVALID", "since must be an ISO 8601 time");
      return replay({
        code: args.code,
        since,
        dryRun: args.dry_run === true,
        fromBeginning: args.from_beginning === true,
      });
    });
  }
  return app;
}

/** The API server instance. */
export type Api = ReturnType<typeof buildApi>;
