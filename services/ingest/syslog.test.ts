import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createSocket } from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { pino, type Logger } from "pino";
import { MemoryBus, type OutMessage } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { Metrics } from "../shared/metrics.ts";
import { Ingestor } from "./ingestor.ts";
import { startSyslog, type SyslogOptions } from "./syslog.ts";

const topics = topicNames("t");

/** Invented Check Point CEF lines, unique per `i` (externalId, src, rt), behind an RFC 5424 or RFC 3164 header. */
function cefLine(i: number, header: "5424" | "3164", msgBytes = 0): string {
  const rt = 1763632800000 + i * 1000;
  const msg = msgBytes > 0 ? ` msg=${"probe ".repeat(Math.ceil(msgBytes / 6)).slice(0, msgBytes)}` : "";
  const ext = `src=198.51.${Math.floor(i / 250) % 256}.${i % 250} dst=10.1.2.3 externalId=scan-${i} rt=${rt}${msg}`;
  const cef = `CEF:0|Check Point|VPN-1 & FireWall-1|R81|100|Port scan|7|${ext}`;
  return header === "5424"
    ? `<134>1 2026-11-20T10:00:00Z fw01 CheckPoint - - - ${cef}`
    : `<134>Nov 20 10:00:00 fw02 CheckPoint[4242]: ${cef}`;
}

const counted = (m: string) => `${Buffer.byteLength(m)} ${m}`;

interface Rec {
  readonly topic: "normalized" | "dlq";
  readonly text: string;
  readonly reason?: string;
  readonly code?: string;
}

/** A bus that fails publishBatch while `failing` says so (before publishing anything). */
class FlakyBus extends MemoryBus {
  failures = 0;
  failing: () => boolean = () => false;
  override async publishBatch(
    batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>,
  ): Promise<void> {
    if (this.failing()) {
      this.failures++;
      throw new Error("RIPOSTE_BUS_UNAVAILABLE: broker down (test)");
    }
    return super.publishBatch(batches);
  }
}

function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "debug" },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

/** An Ingestor on a memory bus, and every record it publishes (raw_data of events, original bytes of DLQ records). */
async function harness(bus: MemoryBus = new MemoryBus()) {
  await bus.ensureTopics([
    { name: topics.normalized, partitions: 1 },
    { name: topics.dlq, partitions: 1 },
  ]);
  const ingestor = new Ingestor({ bus, topics, metrics: new Metrics() });
  const records: Rec[] = [];
  const sub = await bus.subscribe({
    groupId: "collector",
    topics: [topics.normalized, topics.dlq],
    handler: async (messages) => {
      for (const m of messages) {
        const v = JSON.parse(m.value.toString("utf8"));
        if (m.topic === topics.normalized) records.push({ topic: "normalized", text: v.raw_data as string });
        else
          records.push({
            topic: "dlq",
            text: Buffer.from(v.original as string, "base64").toString("utf8"),
            reason: v.reason as string,
            code: v.code as string,
          });
      }
    },
  });
  const stop = async () => {
    await sub.stop();
    await bus.close();
  };
  return { bus, ingestor, records, stop };
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Sends `data` over one TCP connection in random chunks of 1..maxChunk bytes, yielding now and then, and closes. */
async function sendTcp(port: number, data: Buffer, maxChunk = 3_000): Promise<void> {
  const socket = connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.setNoDelay(true);
  let pos = 0;
  let n = 0;
  while (pos < data.length) {
    const size = 1 + Math.floor(Math.random() * maxChunk);
    const ok = socket.write(data.subarray(pos, pos + size));
    pos += size;
    if (!ok) await new Promise((r) => socket.once("drain", r));
    if (++n % 7 === 0) await sleep(1);
  }
  await new Promise<void>((resolve) => socket.end(resolve));
  await new Promise((r) => socket.once("close", r));
}

async function sendUdp(port: number, datagrams: readonly string[]): Promise<void> {
  const s = createSocket("udp4");
  for (const [i, d] of datagrams.entries()) {
    await new Promise<void>((resolve, reject) => s.send(d, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    if (i % 20 === 19) await sleep(2); // loopback, but keep well inside the receive buffer
  }
  await new Promise<void>((r) => s.close(() => r()));
}

/** Asserts that the records are exactly `lines`, each once. */
function assertExactlyOnce(records: readonly Rec[], lines: readonly string[]): void {
  assert.equal(records.length, lines.length, "one record per line");
  const seen = new Map<string, number>();
  for (const r of records) seen.set(r.text, (seen.get(r.text) ?? 0) + 1);
  const twice = [...seen].filter(([, k]) => k > 1);
  assert.deepEqual(twice, [], "no line twice");
  for (const l of lines) assert.ok(seen.has(l), `missing: ${l}`);
}

/** Listen on both transports (free ports). */
const both = { tcpPort: 0, udpPort: 0 } as const;

function opts(ingestor: SyslogOptions["ingestor"], log: Logger, extra: Partial<SyslogOptions>): SyslogOptions {
  return { host: "127.0.0.1", source: "syslog-fw", ingestor, log, ...extra };
}

test("TCP: 1,000 octet-counted and 1,000 LF-framed lines in arbitrary chunks, each on the bus exactly once", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { ...both, batchMaxMessages: 64 }));
  try {
    assert.ok(server.tcpPort !== undefined && server.tcpPort > 0 && server.udpPort !== undefined);
    const a = Array.from({ length: 1_000 }, (_, i) => cefLine(i, i % 2 ? "5424" : "3164"));
    const b = Array.from({ length: 1_000 }, (_, i) => cefLine(10_000 + i, i % 3 ? "3164" : "5424"));
    const terminators = ["\n", "\r\n", "\0"];
    const lf = b.map((l, i) => l + terminators[i % 3]).join("");
    await Promise.all([
      sendTcp(server.tcpPort, Buffer.from(a.map(counted).join(""))),
      sendTcp(server.tcpPort, Buffer.from(lf), 500),
    ]);
    await until("2,000 records", () => h.records.length >= 2_000);
    await sleep(200); // nothing more arrives
    assertExactlyOnce(h.records, [...a, ...b]);
    assert.ok(h.records.every((r) => r.topic === "normalized"));
  } finally {
    await server.close();
    await h.stop();
  }
});

test("UDP: one or several lines per datagram, each on the bus once", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { udpPort: 0 }));
  try {
    assert.equal(server.tcpPort, undefined);
    const lines = Array.from({ length: 300 }, (_, i) => cefLine(20_000 + i, i % 2 ? "5424" : "3164"));
    const datagrams: string[] = [];
    for (let i = 0; i < lines.length;) {
      const k = 1 + (i % 3); // 1, 2 or 3 lines per datagram
      datagrams.push(lines.slice(i, i + k).join(i % 2 ? "\r\n" : "\n") + (i % 4 === 0 ? "\n" : ""));
      i += k;
    }
    await sendUdp(server.udpPort!, datagrams);
    await until("300 records", () => h.records.length >= 300);
    await sleep(100);
    assertExactlyOnce(h.records, lines);
  } finally {
    await server.close();
    await h.stop();
  }
});

test("framing errors and unreadable lines land in the DLQ with their bytes and reason", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { tcpPort: 0, maxLineBytes: 1_000 }));
  try {
    const good = cefLine(1, "5424");
    const big = `${cefLine(2, "5424")} msg=${"A".repeat(3_000)}`;
    const noCount = cefLine(3, "3164");
    const garbage = "<13>1 2026-11-20T10:00:00Z host app - - - not a CEF or LEEF line";
    // Octet-counted stream with an oversize frame and a frame without its count.
    await sendTcp(server.tcpPort!, Buffer.from(counted(good) + counted(big) + `${noCount}\n` + counted(garbage)), 100);
    await until("4 records", () => h.records.length >= 4);
    await sleep(100);
    assert.equal(h.records.length, 4);
    const by = (text: string) => h.records.find((r) => r.text === text);
    assert.equal(by(good)?.topic, "normalized");
    const over = h.records.find((r) => r.text === big.slice(0, 1_000));
    assert.equal(over?.topic, "dlq");
    assert.equal(over?.code, "RIPOSTE_LINE_TOO_LONG");
    assert.match(
      over?.reason ?? "",
      /longer than the 1000-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\).*\(syslog TCP from 127\.0\.0\.1:\d+\)/,
    );
    assert.equal(by(noCount)?.topic, "dlq");
    assert.match(by(noCount)?.reason ?? "", /expected an RFC 6587 octet count/);
    assert.equal(by(noCount)?.code, "RIPOSTE_BODY_INVALID");
    assert.equal(by(garbage)?.topic, "dlq");
  } finally {
    await server.close();
    await h.stop();
  }
});

test("TCP: while the bus is unavailable the batch is retried with the connection paused; nothing is lost", async () => {
  const bus = new FlakyBus();
  let down = true;
  bus.failing = () => down;
  const h = await harness(bus);
  let inFlight = 0;
  let maxInFlight = 0;
  const attemptedWhileDown = new Set<string>();
  const ingestor: SyslogOptions["ingestor"] = {
    ingest: async (pieces, o) => {
      if (down) attemptedWhileDown.add(pieces[0]!.text);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await h.ingestor.ingest(pieces, o);
      } finally {
        inFlight--;
      }
    },
  };
  const { log, lines: logLines } = captureLog();
  const server = await startSyslog(opts(ingestor, log, { tcpPort: 0, batchMaxMessages: 50 }));
  try {
    // ~10 MB: more than loopback socket buffers absorb (~4 MB), so a paused receiver blocks the sender.
    const lines = Array.from({ length: 8_000 }, (_, i) => cefLine(30_000 + i, "5424", 1_100));
    let senderDone = false;
    const sent = sendTcp(server.tcpPort!, Buffer.from(lines.map((l) => `${l}\n`).join("")), 64_000).then(() => {
      senderDone = true;
    });
    await until("three failed publishes", () => bus.failures >= 3);
    assert.equal(h.records.length, 0);
    // The same batch is retried; the socket is not read further, so TCP flow control holds the sender back.
    assert.equal(attemptedWhileDown.size, 1);
    assert.equal(senderDone, false, "the sender is blocked by TCP backpressure");
    down = false;
    await sent;
    await until("8,000 records", () => h.records.length >= 8_000, 60_000);
    await sleep(100);
    assertExactlyOnce(h.records, lines);
    assert.equal(maxInFlight, 1);
    const warn = logLines.find((l) => l["level"] === 40);
    assert.match(String(warn?.["msg"]), /bus is unavailable.*retried/);
    assert.ok(logLines.some((l) => /published after retries/.test(String(l["msg"]))));
  } finally {
    await server.close();
    await h.stop();
  }
});

test("UDP: a batch the bus refuses is retried a bounded number of times, then dropped and counted in the log", async () => {
  const bus = new FlakyBus();
  bus.failing = () => true;
  const h = await harness(bus);
  const { log, lines: logLines } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { udpPort: 0, udpMaxAttempts: 2 }));
  try {
    await sendUdp(
      server.udpPort!,
      Array.from({ length: 5 }, (_, i) => cefLine(40_000 + i, "3164")),
    );
    await until("the drop to be logged", () => logLines.some((l) => l["level"] === 50));
    const err = logLines.find((l) => l["level"] === 50)!;
    assert.equal(err["dropped_total"], 5);
    assert.match(String(err["msg"]), /dropped a batch of 5 messages after 2 failed publish attempts/);
    assert.equal(bus.failures, 2);
  } finally {
    await server.close();
    await h.stop();
  }
});

test("close() flushes pending batches, and a partial line at shutdown goes to the DLQ", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { ...both, batchMaxWaitMs: 60_000 }));
  const tcpLines = Array.from({ length: 10 }, (_, i) => cefLine(50_000 + i, "5424"));
  const udpLines = Array.from({ length: 10 }, (_, i) => cefLine(60_000 + i, "3164"));
  const partial = cefLine(70_000, "5424").slice(0, 60);
  const socket = connect({ host: "127.0.0.1", port: server.tcpPort! });
  socket.on("error", () => undefined); // the server resets it at close
  await new Promise((r) => socket.once("connect", r));
  socket.write(tcpLines.map((l) => `${l}\n`).join("") + partial);
  await sendUdp(server.udpPort!, udpLines);
  await sleep(200);
  assert.equal(h.records.length, 0, "still batching (batchMaxWaitMs is a minute)");
  try {
    await server.close();
    await until("21 records", () => h.records.length >= 21);
    assertExactlyOnce(h.records, [...tcpLines, ...udpLines, partial]);
    const cut = h.records.find((r) => r.text === partial);
    assert.equal(cut?.topic, "dlq");
    assert.match(cut?.reason ?? "", /shut down before the message's terminator/);
    await new Promise((r) => (socket.destroyed ? r(undefined) : socket.once("close", r)));
  } finally {
    socket.destroy();
    await h.stop();
  }
});

test("close() gives up after closeTimeoutMs when the bus stays down, and says what was lost", async () => {
  const bus = new FlakyBus();
  bus.failing = () => true;
  const h = await harness(bus);
  const { log, lines: logLines } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { tcpPort: 0, closeTimeoutMs: 300 }));
  const socket = connect({ host: "127.0.0.1", port: server.tcpPort! });
  socket.on("error", () => undefined);
  await new Promise((r) => socket.once("connect", r));
  socket.write(`${cefLine(80_000, "5424")}\n${cefLine(80_001, "5424")}\n`);
  await until("a failed publish", () => bus.failures >= 1);
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 5_000);
  const err = logLines.find((l) => l["level"] === 50);
  assert.equal(err?.["lost"], 2);
  assert.match(String(err?.["msg"]), /not published and are lost/);
  socket.destroy();
  await h.stop();
});

test("startSyslog needs a port, and reports a port already in use", async () => {
  const { log } = captureLog();
  const h = await harness();
  await assert.rejects(startSyslog({ host: "127.0.0.1", source: "s", ingestor: h.ingestor, log }), /tcpPort, udpPort/);
  const first = await startSyslog(opts(h.ingestor, log, { tcpPort: 0 }));
  await assert.rejects(startSyslog(opts(h.ingestor, log, { tcpPort: first.tcpPort! })), /EADDRINUSE/);
  await first.close();
  await h.stop();
});

/** A CEF line of exactly `bytes` bytes (ASCII), padded in msg. */
function cefLineOf(i: number, bytes: number): string {
  const base = `${cefLine(i, "5424")} msg=`;
  assert.ok(bytes > base.length);
  return base + "x".repeat(bytes - base.length);
}

test("TCP: a line over maxLineBytes is dead-lettered as RIPOSTE_LINE_TOO_LONG with its first bytes; the rest is discarded and the connection carries on", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { tcpPort: 0, maxLineBytes: 1_000 }));
  try {
    const before = cefLine(90_000, "5424");
    const huge = cefLineOf(90_001, 3 * 1024 * 1024);
    const after = cefLine(90_002, "3164");
    const atLimit = cefLineOf(90_003, 1_000);
    await sendTcp(server.tcpPort!, Buffer.from(`${before}\n${huge}\r\n${after}\n${atLimit}\r\n`), 64_000);
    await until("4 records", () => h.records.length >= 4);
    await sleep(100);
    assert.equal(h.records.length, 4);
    const dlq = h.records.filter((r) => r.topic === "dlq");
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]!.code, "RIPOSTE_LINE_TOO_LONG");
    assert.equal(dlq[0]!.text, huge.slice(0, 1_000));
    assert.match(dlq[0]!.reason!, /1000-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\)/);
    assert.deepEqual(
      h.records.filter((r) => r.topic === "normalized").map((r) => r.text),
      [before, after, atLimit],
    );
  } finally {
    await server.close();
    await h.stop();
  }
});

test("TCP: the default line limit is 65536 bytes", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { tcpPort: 0 }));
  try {
    const fits = cefLineOf(91_000, 65_536);
    const over = cefLineOf(91_001, 65_537);
    await sendTcp(server.tcpPort!, Buffer.from(`${fits}\n${over}\n`), 10_000);
    await until("2 records", () => h.records.length >= 2);
    assert.equal(h.records.find((r) => r.text === fits)?.topic, "normalized");
    const cut = h.records.find((r) => r.topic === "dlq");
    assert.equal(cut?.code, "RIPOSTE_LINE_TOO_LONG");
    assert.equal(cut?.text, over.slice(0, 65_536));
    assert.match(cut?.reason ?? "", /65536-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\)/);
  } finally {
    await server.close();
    await h.stop();
  }
});

test("TCP: an octet-counted frame declaring a huge length is dead-lettered once its first bytes are in, unbuffered; other frames and connections carry on", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { tcpPort: 0, maxLineBytes: 1_000, batchMaxWaitMs: 5 }));
  const socket = connect({ host: "127.0.0.1", port: server.tcpPort! });
  socket.on("error", () => undefined);
  try {
    await new Promise((r) => socket.once("connect", r));
    const first = cefLine(92_000, "5424");
    socket.write(`${counted(first)}999999999 <134>1 `);
    const filler = Buffer.alloc(64 * 1024, "z");
    for (let k = 0; k < 32; k++) if (!socket.write(filler)) await new Promise((r) => socket.once("drain", r));
    // Reported while the frame is still arriving (2 MB of its declared 1 GB).
    await until("the too-long record", () => h.records.some((r) => r.topic === "dlq"));
    const dlq = h.records.find((r) => r.topic === "dlq")!;
    assert.equal(dlq.code, "RIPOSTE_LINE_TOO_LONG");
    assert.equal(dlq.text, `<134>1 ${"z".repeat(993)}`);
    assert.match(dlq.reason!, /octet-counted message of 999999999 bytes is longer than the 1000-byte limit/);
    // Another connection is unaffected; and on one connection, frames after a long one are read as usual.
    const others = [cefLine(92_001, "5424"), cefLine(92_002, "3164")];
    await sendTcp(
      server.tcpPort!,
      Buffer.from(counted(others[0]!) + counted(cefLineOf(92_003, 50_000)) + counted(others[1]!)),
      4_000,
    );
    await until("4 records", () => h.records.length >= 4);
    assert.deepEqual(
      h.records.filter((r) => r.topic === "normalized").map((r) => r.text),
      [first, ...others],
    );
    assert.equal(h.records.filter((r) => r.code === "RIPOSTE_LINE_TOO_LONG").length, 2);
  } finally {
    socket.destroy();
    await server.close();
    await h.stop();
  }
});

test("UDP: a datagram line over maxLineBytes is dead-lettered as RIPOSTE_LINE_TOO_LONG; other lines and datagrams carry on", async () => {
  const h = await harness();
  const { log } = captureLog();
  const server = await startSyslog(opts(h.ingestor, log, { udpPort: 0, maxLineBytes: 1_000 }));
  try {
    const good = [cefLine(93_000, "3164"), cefLine(93_001, "5424"), cefLine(93_002, "3164")];
    const big = cefLineOf(93_003, 60_000);
    await sendUdp(server.udpPort!, [good[0]!, big, `${big}\n${good[1]!}`, good[2]!]);
    await until("5 records", () => h.records.length >= 5);
    await sleep(100);
    assert.equal(h.records.length, 5);
    assert.deepEqual(
      h.records
        .filter((r) => r.topic === "normalized")
        .map((r) => r.text)
        .sort(),
      [...good].sort(),
    );
    const dlq = h.records.filter((r) => r.topic === "dlq");
    assert.equal(dlq.length, 2);
    for (const r of dlq) {
      assert.equal(r.code, "RIPOSTE_LINE_TOO_LONG");
      assert.equal(r.text, big.slice(0, 1_000));
      assert.match(r.reason!, /1000-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\).*\(syslog UDP\)/);
    }
  } finally {
    await server.close();
    await h.stop();
  }
});

test("a big burst is ingested in batches of at most 1 MiB of text, with a turn of the event loop between them", async () => {
  const h = await harness();
  const { log } = captureLog();
  const calls: Array<{ chars: number; turn: number }> = [];
  let turns = 0;
  let spinning = true;
  const spin = () => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  spin();
  const ingestor: SyslogOptions["ingestor"] = {
    ingest: (pieces, o) => {
      calls.push({ chars: pieces.reduce((n, p) => n + p.text.length, 0), turn: turns });
      return h.ingestor.ingest(pieces, o);
    },
  };
  const server = await startSyslog(opts(ingestor, log, { tcpPort: 0, batchMaxWaitMs: 200 }));
  try {
    const lines = Array.from({ length: 120 }, (_, i) => cefLineOf(94_000 + i, 60_000));
    await sendTcp(server.tcpPort!, Buffer.from(lines.map((l) => `${l}\n`).join("")), 256 * 1024);
    await until("120 records", () => h.records.length >= 120, 30_000);
    assertExactlyOnce(h.records, lines);
    assert.ok(calls.length >= 7, `${calls.length} ingest calls`);
    for (const c of calls) assert.ok(c.chars <= 1024 * 1024, `a batch of ${c.chars} characters`);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.turn > calls[i - 1]!.turn, `no turn before call ${i}`);
  } finally {
    spinning = false;
    await server.close();
    await h.stop();
  }
});
