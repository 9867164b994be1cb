/**
 * Redis client spans from the tracing channels ioredis (6.x) publishes on node:diagnostics_channel
 * (`ioredis:command`, `ioredis:batch`, `ioredis:connect`), following the OpenTelemetry database semantic
 * conventions. Subscribed only while spans are exported: with no subscriber ioredis builds no trace context at all,
 * so a process that exports nothing pays nothing per command.
 *
 * The query text never carries a value: only the command name, a Lua script's SHA and key count, and one `?` per
 * other argument (keys hold entity names, arguments hold alert data and lease owners).
 */
import { createHash } from "node:crypto";
import { tracingChannel, type TracingChannelSubscribers } from "node:diagnostics_channel";
import { context, trace, SpanKind, SpanStatusCode, type Attributes, type Span } from "@opentelemetry/api";
import { ATTR } from "./semconv.ts";

/** What ioredis puts on `ioredis:command` (CommandTraceContext); `error` is added when the command fails. */
interface CommandEvent {
  readonly command: string;
  readonly args: readonly string[];
  readonly database: number;
  readonly serverAddress: string;
  readonly serverPort: number | undefined;
  error?: unknown;
}
/** `ioredis:batch` (a MULTI … EXEC transaction). */
interface BatchEvent {
  readonly batchMode: string;
  readonly batchSize: number;
  readonly database: number;
  readonly serverAddress: string;
  readonly serverPort: number | undefined;
  error?: unknown;
}
/** `ioredis:connect`. */
interface ConnectEvent {
  readonly serverAddress: string;
  readonly serverPort: number | undefined;
  readonly connectionEpoch: number;
  error?: unknown;
}

/** Placeholders a query text lists at most; the rest is summarised. */
const MAX_PLACEHOLDERS = 16;

const scriptNames = new Map<string, string>();

/** Names Lua scripts by their SHA-1, so EVALSHA spans say which script ran (`db.stored_procedure.name`). */
export function nameRedisScripts(scripts: ReadonlyArray<{ readonly name: string; readonly lua: string }>): void {
  for (const s of scripts) scriptNames.set(createHash("sha1").update(s.lua).digest("hex"), s.name);
}

function placeholders(n: number): string[] {
  const shown = Array.from({ length: Math.min(n, MAX_PLACEHOLDERS) }, () => "?");
  if (n > MAX_PLACEHOLDERS) shown.push(`…(${n - MAX_PLACEHOLDERS} more)`);
  return shown;
}

/** The span name and attributes of one command, without any of its values. */
export function commandAttributes(e: CommandEvent): { name: string; attributes: Attributes } {
  const op = e.command.toUpperCase();
  const attributes: Attributes = { ...server(e), [ATTR.dbOperation]: op };
  let query: string[];
  let name = op;
  if (op.startsWith("EVAL")) {
    // EVAL's body is code, not data, but long: its SHA stands for it (EVAL follows an EVALSHA refused NOSCRIPT).
    const [first = "", numKeys = "0"] = e.args;
    const sha = op.startsWith("EVALSHA") ? first : createHash("sha1").update(first).digest("hex");
    const named = scriptNames.get(sha);
    if (named) {
      attributes[ATTR.dbProcedure] = named;
      name = `${op} ${named}`;
    }
    query = [op, /^[0-9a-f]{40}$/.test(sha) ? sha : "?", /^\d+$/.test(numKeys) ? numKeys : "?"];
    query.push(...placeholders(Math.max(e.args.length - 2, 0)));
  } else query = [op, ...placeholders(e.args.length)];
  attributes[ATTR.dbQuery] = query.join(" ");
  return { name, attributes };
}

function server(e: { database?: number; serverAddress: string; serverPort: number | undefined }): Attributes {
  return {
    [ATTR.dbSystem]: "redis",
    [ATTR.serverAddress]: e.serverAddress,
    ...(e.serverPort === undefined ? {} : { [ATTR.serverPort]: e.serverPort }),
    ...(e.database === undefined ? {} : { [ATTR.dbNamespace]: String(e.database) }),
  };
}

function fail(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  // A Redis error reply starts with its code (WRONGTYPE, NOSCRIPT, ERR …); the rest may quote a key, so it stays out.
  const code = /^([A-Z][A-Z_-]+)\s/.exec(err.message)?.[1];
  span.setAttribute(ATTR.errorType, code ?? err.name);
  if (code) span.setAttribute(ATTR.dbStatus, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? err.name });
}

/**
 * Subscribers for one channel: a span starts in the caller's context (`start` is published synchronously where
 * the command is sent) and ends when the command's promise settles. Commands sent with no span active (background
 * polling, reconnect replays) start no trace of their own; connections do.
 */
function spans<E extends { error?: unknown }>(
  describe: (e: E) => { name: string; attributes: Attributes },
  requireParent: boolean,
): TracingChannelSubscribers<E> {
  const open = new WeakMap<E, Span>();
  const finish = (e: E) => {
    const span = open.get(e);
    if (!span) return;
    open.delete(e);
    if (e.error !== undefined) fail(span, e.error);
    span.end();
  };
  return {
    start(e) {
      const parent = context.active();
      if (requireParent && !trace.getSpanContext(parent)) return;
      const { name, attributes } = describe(e);
      open.set(e, trace.getTracer("riposte").startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent));
    },
    // A synchronous throw ends at `end` (no async events follow); a settled promise at `asyncEnd`.
    end(e) {
      if (e.error !== undefined) finish(e);
    },
    asyncStart() {},
    asyncEnd: finish,
    error() {},
  };
}

const channels = {
  command: tracingChannel<unknown, CommandEvent>("ioredis:command"),
  batch: tracingChannel<unknown, BatchEvent>("ioredis:batch"),
  connect: tracingChannel<unknown, ConnectEvent>("ioredis:connect"),
};

const subscribers = {
  command: spans<CommandEvent>(commandAttributes, true),
  batch: spans<BatchEvent>(
    (e) => ({
      name: e.batchMode,
      attributes: { ...server(e), [ATTR.dbOperation]: e.batchMode, [ATTR.dbBatchSize]: e.batchSize },
    }),
    true,
  ),
  connect: spans<ConnectEvent>((e) => ({ name: "redis connect", attributes: server(e) }), false),
};

let subscribed = false;

/** Starts making Redis spans (idempotent). */
export function subscribeRedisSpans(): void {
  if (subscribed) return;
  subscribed = true;
  channels.command.subscribe(subscribers.command);
  channels.batch.subscribe(subscribers.batch);
  channels.connect.subscribe(subscribers.connect);
}

/** Stops making Redis spans. */
export function unsubscribeRedisSpans(): void {
  if (!subscribed) return;
  subscribed = false;
  channels.command.unsubscribe(subscribers.command);
  channels.batch.unsubscribe(subscribers.batch);
  channels.connect.unsubscribe(subscribers.connect);
}
