/**
 * The syslog receiver: CEF, LEEF (or any text line) over TCP (RFC 6587 octet counting or LF framing) and UDP
 * (RFC 5426), batched into {@link Ingestor.ingest} as text pieces; framing errors go to the DLQ with their bytes.
 * A line, octet-counted message or datagram line over `maxLineBytes` (RIPOSTE_SYSLOG_MAX_LINE) is dead-lettered as
 * RIPOSTE_LINE_TOO_LONG with its first `maxLineBytes` bytes, the rest of it skipped unbuffered. Every step is linear
 * in the bytes received, and batches are bounded in text too, with a turn of the event loop before each, so that no
 * burst holds the event loop for long.
 *
 * Delivery, per transport:
 * - TCP: syslog over TCP has no application acknowledgement, so the only promise a receiver can keep is to not read
 *   more than it can publish. A connection's socket is paused while one of its batches is being published and
 *   resumed once the bus has acknowledged it; when the bus is unavailable the batch is retried with backoff
 *   (200 ms doubling to 30 s) for as long as it takes, the socket staying paused, so TCP flow control pushes back
 *   on the sender, whose own queue (rsyslog action queue, syslog-ng disk buffer) holds the excess. Nothing read
 *   is dropped, except at shutdown when the bus stays unavailable past `closeTimeoutMs` (logged as an error).
 * - UDP: lossy by nature, with no way to slow a sender: datagrams are batched and published; a failed batch is
 *   retried `udpMaxAttempts` times and then dropped, and while publishing is failing at most
 *   `20 × batchMaxMessages` messages wait, further ones being dropped. Drops are counted in warning/error log lines.
 *   The kernel drops datagrams too when the receive buffer is full (raise `net.core.rmem_max` for bursts); use
 *   TCP where loss matters.
 */
import { createServer, isIPv6, type AddressInfo, type Server, type Socket } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import type { Ingestor } from "./ingestor.ts";
import type { Piece } from "./body.ts";
import type { Logger } from "../shared/log.ts";
import { messageOf } from "../shared/errors.ts";
import { redeliveryDelay } from "../shared/bus/types.ts";
import { DEFAULT_MAX_LINE_BYTES, SyslogDeframer, splitDatagram, type Frame } from "./syslog-framing.ts";

export interface SyslogOptions {
  /** Address to listen on (`0.0.0.0`, `::`, `127.0.0.1`, ...). */
  readonly host: string;
  /** TCP port; 0 picks a free one (see the result). No TCP listener when absent. */
  readonly tcpPort?: number;
  /** UDP port; 0 picks a free one (see the result). No UDP listener when absent. */
  readonly udpPort?: number;
  /** Source name the messages are ingested under. */
  readonly source: string;
  readonly ingestor: Pick<Ingestor, "ingest">;
  readonly log: Logger;
  /**
   * Longest line / octet-counted message / datagram line (bytes, without its terminator) accepted
   * (RIPOSTE_SYSLOG_MAX_LINE). A longer one is dead-lettered as RIPOSTE_LINE_TOO_LONG with its first `maxLineBytes`
   * bytes as the original, the rest of it is discarded without being buffered, and the connection carries on.
   * Default 65536.
   */
  readonly maxLineBytes?: number;
  /** Messages per ingest call, at most. Default 500. */
  readonly batchMaxMessages?: number;
  /** How long a message may wait for its batch to fill. Default 50 ms. */
  readonly batchMaxWaitMs?: number;
  /** Publish attempts of a UDP batch before it is dropped. Default 4 (about 1.4 s of retries). */
  readonly udpMaxAttempts?: number;
  /** How long close() keeps retrying unpublished batches while the bus is unavailable. Default 20 s. */
  readonly closeTimeoutMs?: number;
}

export interface SyslogServer {
  /** The bound TCP port, when listening on TCP. */
  readonly tcpPort?: number;
  /** The bound UDP port, when listening on UDP. */
  readonly udpPort?: number;
  /** Stops listening, publishes what was received, and resolves when done (see `closeTimeoutMs`). */
  close(): Promise<void>;
}

/** How often (at most) a warning about UDP messages dropped for a full queue is logged. */
const DROP_REPORT_MS = 10_000;

/**
 * Text (UTF-16 code units) per ingest call, at most (a single longer message goes alone): normalizing a batch is
 * synchronous, so this bounds how long one batch holds the event loop; the loop gets a turn between batches.
 */
const BATCH_MAX_CHARS = 1024 * 1024;

function toPiece(f: Frame, origin: string): Piece {
  if (f.ok) return { ok: true, event: { kind: "text", value: f.text }, text: f.text };
  const reason = `${f.reason} (syslog ${origin})`;
  return f.code ? { ok: false, text: f.text, reason, code: f.code } : { ok: false, text: f.text, reason };
}

/**
 * Collects frames and hands them out in batches of at most `max` frames and {@link BATCH_MAX_CHARS} of text, when
 * full or `waitMs` after the first one. Batches are published one at a time, in order, with a turn of the event
 * loop between them; `onBusy` tells when publishing starts and stops.
 */
class Batcher {
  private readonly max: number;
  private readonly waitMs: number;
  private readonly publish: (frames: Frame[], receivedTime: number) => Promise<void>;
  private readonly onBusy: ((busy: boolean) => void) | undefined;
  private pending: Frame[] = [];
  private pendingChars = 0;
  private firstAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(cfg: {
    max: number;
    waitMs: number;
    publish: (frames: Frame[], receivedTime: number) => Promise<void>;
    onBusy?: (busy: boolean) => void;
  }) {
    this.max = cfg.max;
    this.waitMs = cfg.waitMs;
    this.publish = cfg.publish;
    this.onBusy = cfg.onBusy;
  }

  /** Messages waiting, not counting a batch being published. */
  get size(): number {
    return this.pending.length;
  }

  add(frames: readonly Frame[]): void {
    if (frames.length === 0) return;
    if (this.pending.length === 0) this.firstAt = Date.now();
    for (const f of frames) {
      this.pending.push(f);
      this.pendingChars += f.text.length;
    }
    if (this.running) return;
    if (this.pending.length >= this.max || this.pendingChars >= BATCH_MAX_CHARS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.waitMs);
  }

  /** Publishes everything pending; resolves once nothing is pending or being published. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running && this.pending.length > 0) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
        if (this.pending.length > 0) void this.flush();
      });
    }
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    this.onBusy?.(true);
    try {
      while (this.pending.length > 0) {
        const receivedTime = this.firstAt;
        let count = 0;
        let chars = 0;
        for (const f of this.pending) {
          if (count === this.max || (count > 0 && chars + f.text.length > BATCH_MAX_CHARS)) break;
          chars += f.text.length;
          count++;
        }
        const batch = count === this.pending.length ? this.pending : this.pending.slice(0, count);
        this.pending = count === this.pending.length ? [] : this.pending.slice(count);
        this.pendingChars -= chars;
        this.firstAt = Date.now();
        // Normalizing a batch is synchronous: let sockets, timers and health checks run before each one.
        await nextTurn();
        await this.publish(batch, receivedTime);
      }
    } finally {
      this.onBusy?.(false);
    }
  }
}

interface Connection {
  readonly socket: Socket;
  /** Ends de-framing (remainder flagged with `truncated` as a framing error when given) and publishes the rest. */
  finish(truncated?: string): Promise<void>;
}

/**
 * Starts the syslog listeners (TCP, UDP or both) on `host`; resolves once they are bound. See the module comment
 * for what is promised per transport.
 */
export async function startSyslog(opts: SyslogOptions): Promise<SyslogServer> {
  if (opts.tcpPort === undefined && opts.udpPort === undefined) {
    throw new Error("startSyslog: give tcpPort, udpPort or both");
  }
  const { ingestor, log, source } = opts;
  const maxLineBytes = new SyslogDeframer({ maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES }).maxLineBytes; // validated
  const batchMax = Math.max(1, opts.batchMaxMessages ?? 500);
  const waitMs = Math.max(0, opts.batchMaxWaitMs ?? 50);
  const udpMaxAttempts = Math.max(1, opts.udpMaxAttempts ?? 4);
  const udpMaxQueued = batchMax * 20;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 20_000;
  /** Aborted when close() stops waiting for the bus: retry loops make one last attempt and give up. */
  const giveUp = new AbortController();
  const connections = new Set<Connection>();
  let stopping = false;

  const pause = async (ms: number) => {
    try {
      await sleep(ms, undefined, { signal: giveUp.signal });
    } catch {
      // aborted: the caller checks giveUp
    }
  };

  /** TCP: publish, retrying until the bus takes it (or close() gives up). */
  async function publishTcp(frames: Frame[], receivedTime: number, peer: string): Promise<void> {
    const pieces = frames.map((f) => toPiece(f, `TCP from ${peer}`));
    for (let attempt = 0; ; attempt++) {
      try {
        await ingestor.ingest(pieces, { source, receivedTime });
        if (attempt > 0)
          log.info(
            { source, peer, messages: pieces.length, attempts: attempt + 1 },
            "syslog TCP batch published after retries",
          );
        return;
      } catch (e) {
        if (giveUp.signal.aborted) {
          log.error(
            { source, peer, lost: pieces.length, err: messageOf(e) },
            `syslog TCP: shutting down with the bus still unavailable after ${closeTimeoutMs} ms; ${pieces.length} received messages were not published and are lost (the sender considers them sent)`,
          );
          return;
        }
        const delay = redeliveryDelay(attempt);
        log.warn(
          { source, peer, messages: pieces.length, attempt: attempt + 1, retry_in_ms: delay, err: messageOf(e) },
          "syslog TCP batch not published: the bus is unavailable; the connection stays paused (the sender queues or, past its own limits, drops) and the batch is retried. Check that the bus (Kafka) is reachable and healthy",
        );
        await pause(delay);
      }
    }
  }

  // UDP accounting.
  let udpDroppedQueueFull = 0;
  let udpDroppedUnpublished = 0;
  let lastDropReport = 0;
  const reportQueueDrops = (force: boolean) => {
    const now = Date.now();
    if (udpDroppedQueueFull === 0 || (!force && now - lastDropReport < DROP_REPORT_MS)) return;
    log.warn(
      { source, dropped: udpDroppedQueueFull, queue_limit: udpMaxQueued },
      `syslog UDP: dropped ${udpDroppedQueueFull} messages because publishing is failing or too slow and ${udpMaxQueued} were already waiting; check the bus, or send over TCP for backpressure`,
    );
    udpDroppedQueueFull = 0;
    lastDropReport = now;
  };

  /** UDP: publish with a bounded number of attempts, then drop (counted in the log). */
  async function publishUdp(frames: Frame[], receivedTime: number): Promise<void> {
    const pieces = frames.map((f) => toPiece(f, "UDP"));
    for (let attempt = 1; ; attempt++) {
      try {
        await ingestor.ingest(pieces, { source, receivedTime });
        reportQueueDrops(false);
        return;
      } catch (e) {
        if (attempt >= udpMaxAttempts || giveUp.signal.aborted) {
          udpDroppedUnpublished += pieces.length;
          log.error(
            {
              source,
              dropped: pieces.length,
              dropped_total: udpDroppedUnpublished,
              attempts: attempt,
              err: messageOf(e),
            },
            `syslog UDP: dropped a batch of ${pieces.length} messages after ${attempt} failed publish attempts (bus unavailable); UDP has no backpressure, so they are lost: check the bus (Kafka), or send over TCP`,
          );
          return;
        }
        await pause(redeliveryDelay(attempt - 1));
      }
    }
  }

  let server: Server | undefined;
  let udp: UdpSocket | undefined;
  let udpBatcher: Batcher | undefined;
  const result: { tcpPort?: number; udpPort?: number } = {};

  const closeListeners = async () => {
    await Promise.all([
      new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => {
        if (!udp) return resolve();
        try {
          udp.close(() => resolve());
        } catch {
          resolve(); // not bound, or already closed
        }
      }),
    ]);
  };

  try {
    if (opts.tcpPort !== undefined) {
      const srv = createServer();
      server = srv;
      srv.on("connection", (socket) => acceptTcp(socket));
      result.tcpPort = await new Promise<number>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen({ host: opts.host, port: opts.tcpPort }, () => {
          srv.off("error", reject);
          resolve((srv.address() as AddressInfo).port);
        });
      });
      srv.on("error", (e) => log.error({ source, err: messageOf(e) }, "syslog TCP listener error"));
    }
    if (opts.udpPort !== undefined) {
      const sock = createSocket({ type: isIPv6(opts.host) ? "udp6" : "udp4" });
      udp = sock;
      const batcher = new Batcher({ max: batchMax, waitMs, publish: publishUdp });
      udpBatcher = batcher;
      sock.on("message", (msg) => {
        const frames = splitDatagram(msg, maxLineBytes);
        if (batcher.size + frames.length > udpMaxQueued) {
          udpDroppedQueueFull += frames.length;
          reportQueueDrops(false);
          return;
        }
        batcher.add(frames);
      });
      result.udpPort = await new Promise<number>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind({ address: opts.host, port: opts.udpPort }, () => {
          sock.off("error", reject);
          resolve(sock.address().port);
        });
      });
      sock.on("error", (e) => log.error({ source, err: messageOf(e) }, "syslog UDP socket error"));
      try {
        sock.setRecvBufferSize(8 * 1024 * 1024); // the kernel caps it at net.core.rmem_max
      } catch {
        // keep the default
      }
    }
  } catch (e) {
    await closeListeners();
    throw e;
  }

  function acceptTcp(socket: Socket): void {
    if (stopping) {
      socket.destroy();
      return;
    }
    const peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    const deframer = new SyslogDeframer({ maxLineBytes });
    let messages = 0;
    let framingErrors = 0;
    let closed = false;
    let ended = false;
    const batcher = new Batcher({
      max: batchMax,
      waitMs,
      publish: (frames, receivedTime) => publishTcp(frames, receivedTime, peer),
      onBusy: (busy) => {
        if (busy) socket.pause();
        else if (!closed && !stopping) socket.resume();
      },
    });
    const take = (frames: readonly Frame[]) => {
      for (const f of frames) {
        messages++;
        if (!f.ok) framingErrors++;
      }
      batcher.add(frames);
    };
    const conn: Connection = {
      socket,
      finish(truncated?: string): Promise<void> {
        if (!ended) {
          ended = true;
          const rest = deframer.end();
          take(truncated ? rest.map((f) => (f.ok ? { ok: false, text: f.text, reason: truncated } : f)) : rest);
        }
        return batcher.flush();
      },
    };
    connections.add(conn);
    log.debug({ source, peer }, "syslog TCP connection opened");
    socket.setKeepAlive(true, 60_000);
    socket.on("data", (chunk: Buffer) => take(deframer.push(chunk)));
    socket.on("end", () => void conn.finish());
    socket.on("error", (e) => log.debug({ source, peer, err: messageOf(e) }, "syslog TCP connection error"));
    socket.on("close", (hadError) => {
      closed = true;
      void conn
        .finish(
          hadError
            ? "framing error: the connection broke before the message's terminator arrived; it may be truncated"
            : undefined,
        )
        .finally(() => {
          connections.delete(conn);
          log.debug(
            { source, peer, messages, framing_errors: framingErrors, framing: deframer.framing },
            "syslog TCP connection closed",
          );
        });
    });
  }

  log.info({ source, host: opts.host, max_line_bytes: maxLineBytes, ...result }, "syslog receiver listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      const listenersClosed = closeListeners();
      const timer = setTimeout(() => giveUp.abort(), closeTimeoutMs);
      try {
        await Promise.all([
          ...[...connections].map(async (c) => {
            c.socket.pause();
            // Frame what was already read into the process; bytes still in the kernel are not read.
            while (c.socket.readableLength > 0 && c.socket.read() !== null);
            await c.finish(
              "framing error: the receiver shut down before the message's terminator arrived; it may be truncated",
            );
            c.socket.destroy();
          }),
          udpBatcher?.flush(),
        ]);
        await listenersClosed;
      } finally {
        clearTimeout(timer);
      }
      reportQueueDrops(true);
      log.info({ source, udp_dropped: udpDroppedUnpublished }, "syslog receiver closed");
    })();
    return closing;
  };

  return { ...result, close };
}
