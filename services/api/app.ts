/**
 * The HTTP API, built by a factory (tests use `inject`, `listen` happens in the CLI):
 * - `POST /v1/alerts/:source` ingest (JSON object, array, NDJSON, text lines; gzip), 202 once durable
 * - `GET /v1/stats` counters, `GET /healthz` liveness (no auth)
 */
import { gunzipSync } from "node:zlib";
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import { propagation, context } from "@opentelemetry/api";
import { RiposteError, isRiposteError, messageOf, type ErrorCode } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "../shared/metrics.ts";
import { splitBody } from "../ingest/body.ts";
import type { Ingestor } from "../ingest/ingestor.ts";
import { bearerOf, mayIngest, safeEqual } from "./auth.ts";

export interface ApiOptions {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly apiToken: string | undefined;
  readonly sourceTokens: Readonly<Record<string, string>>;
  readonly maxBodyBytes: number;
  /** Present when this process ingests. */
  readonly ingestor?: Ingestor;
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
        if ((req.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
          try {
            body = gunzipSync(body, { maxOutputLength: opts.maxBodyBytes });
          } catch (e) {
            throw new RiposteError(
              "RIPOSTE_BODY_INVALID",
              `Content-Encoding is gzip but the body does not inflate within ${opts.maxBodyBytes} bytes: ${messageOf(e)}`,
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
  return app;
}

/** The API server instance. */
export type Api = ReturnType<typeof buildApi>;
