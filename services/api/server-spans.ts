/**
 * HTTP server spans for the API (OpenTelemetry HTTP server semantic conventions), made by Fastify hooks and only
 * when spans are exported. The sender's trace context is continued only for an authenticated source that is
 * trusted (RIPOSTE_TRACE_TRUSTED_SOURCES); any other request starts a new trace whose server span links to the
 * sender's context. The span is active from the preHandler hook on, so the handler's work (the ingest span, Redis
 * calls) is its child.
 */
import { context, trace, SpanKind, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../shared/log.ts";
import { ATTR } from "../shared/semconv.ts";
import { inboundTrace } from "../shared/telemetry.ts";

const spans = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();

/** The server span's context of a request, when it has one (spans are exported). */
export function requestContext(req: FastifyRequest): Context | undefined {
  return spans.get(req)?.ctx;
}

function start(req: FastifyRequest, reply: FastifyReply, trusted: boolean): { span: Span; ctx: Context } {
  const { parent, links } = inboundTrace(req.headers, trusted);
  const route = req.routeOptions.url;
  const span = trace.getTracer("riposte").startSpan(
    route ? `${req.method} ${route}` : req.method,
    {
      kind: SpanKind.SERVER,
      // Started when the request arrived, though made only once it is authenticated.
      startTime: Date.now() - reply.elapsedTime,
      attributes: {
        [ATTR.httpMethod]: req.method,
        // The path without its query: a query may carry a token or a list name's secret.
        [ATTR.urlPath]: req.url.split("?")[0] ?? "/",
        [ATTR.urlScheme]: req.protocol,
        ...(route ? { [ATTR.httpRoute]: route } : {}),
      },
      ...(links.length ? { links } : {}),
    },
    parent,
  );
  const entry = { span, ctx: trace.setSpan(parent, span) };
  spans.set(req, entry);
  return entry;
}

/**
 * Adds the server-span hooks. Call it after the authentication hook: `trusted` is asked only about requests that
 * passed it (those refused there get an untrusted span when they are answered).
 */
export function traceRequests(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>,
  trusted: (req: FastifyRequest) => boolean,
): void {
  app.addHook("onRequest", (req, reply, done) => {
    start(req, reply, trusted(req));
    done();
  });
  app.addHook("preHandler", (req, _reply, done) => {
    const entry = spans.get(req);
    if (entry) context.with(entry.ctx, done);
    else done();
  });
  app.addHook("onError", (req, _reply, err, done) => {
    spans.get(req)?.span.recordException(err);
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    const { span } = spans.get(req) ?? start(req, reply, false);
    spans.delete(req);
    const status = reply.statusCode;
    span.setAttribute(ATTR.httpStatus, status);
    // Server spans are errors for 5xx only: a 4xx is the client's mistake, answered as designed.
    if (status >= 500) {
      span.setAttribute(ATTR.errorType, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
    done();
  });
  app.addHook("onRequestAbort", (req, done) => {
    const entry = spans.get(req);
    spans.delete(req);
    if (entry) {
      entry.span.setAttribute(ATTR.errorType, "aborted");
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: "the client closed the connection" });
      entry.span.end();
    }
    done();
  });
}
