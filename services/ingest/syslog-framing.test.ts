import { test } from "node:test";
import assert from "node:assert/strict";
import { SyslogDeframer, splitDatagram, type DeframerOptions, type Frame } from "./syslog-framing.ts";
import { LINEAR, growth } from "./growth.testing.ts";

const CEF5424 =
  "<134>1 2026-11-20T10:00:00Z fw01 CheckPoint - - - CEF:0|Check Point|VPN-1 & FireWall-1|R81|100|Port scan|7|src=198.51.100.7 dst=10.1.2.3 rt=1763632800000";
const CEF3164 =
  "<134>Nov 20 10:00:01 fw02 CheckPoint[4242]: CEF:0|Check Point|VPN-1 & FireWall-1|R81|101|Port scan|7|src=198.51.100.8 dst=10.1.2.4 rt=1763632801000";
const LEEF = "<13>Nov 20 10:00:02 pa01 LEEF:2.0|Palo Alto Networks|PAN-OS|11.1|THREAT|^|src=203.0.113.9^msg=Größe ✓";

/** Octet-counted frame: the length is in bytes, not characters. */
const counted = (m: string) => `${Buffer.byteLength(m)} ${m}`;

function run(chunks: readonly Buffer[], opts?: DeframerOptions): { frames: Frame[]; framing: string | undefined } {
  const d = new SyslogDeframer(opts);
  const frames = chunks.flatMap((c) => d.push(c));
  return { frames: frames.concat(d.end()), framing: d.framing };
}

const texts = (frames: readonly Frame[]) => frames.map((f) => (f.ok ? f.text : `ERR:${f.reason}`));

/** Splits `buf` into chunks at the given offsets. */
function cut(buf: Buffer, at: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of [...at, buf.length]) {
    out.push(buf.subarray(prev, a));
    prev = a;
  }
  return out;
}

test("octet counting: every split point, one-byte chunks, multi-byte UTF-8 and LF inside a message", () => {
  const messages = [CEF5424, CEF3164, LEEF, "<14>1 - host app - - - line one\nline two"];
  const stream = Buffer.from(messages.map(counted).join(""));
  for (let a = 0; a <= stream.length; a++) {
    const { frames, framing } = run(cut(stream, [a]));
    assert.deepEqual(texts(frames), messages, `split at ${a}`);
    assert.equal(framing, "octet-counting");
  }
  const bytes = [...stream].map((_, i) => stream.subarray(i, i + 1));
  assert.deepEqual(texts(run(bytes).frames), messages);
  // Three random cuts, many times.
  for (let k = 0; k < 200; k++) {
    const at = [0, 0, 0].map(() => Math.floor(Math.random() * stream.length)).sort((x, y) => x - y);
    assert.deepEqual(texts(run(cut(stream, at)).frames), messages);
  }
});

test("octet counting tolerates a newline after each frame, counted or not", () => {
  const uncounted = Buffer.from(`${counted(CEF5424)}\n${counted(CEF3164)}\r\n`);
  assert.deepEqual(texts(run([uncounted]).frames), [CEF5424, CEF3164]);
  const inCount = Buffer.from(counted(`${CEF5424}\n`) + counted(`${CEF3164}\r\n`));
  assert.deepEqual(texts(run([inCount]).frames), [CEF5424, CEF3164]);
});

test("non-transparent framing: LF, CRLF and NUL terminators, mixed, empty lines skipped", () => {
  const lf = run([Buffer.from(`${CEF5424}\n${CEF3164}\n`)]);
  assert.equal(lf.framing, "non-transparent");
  assert.deepEqual(texts(lf.frames), [CEF5424, CEF3164]);
  assert.deepEqual(texts(run([Buffer.from(`${CEF5424}\r\n${CEF3164}\r\n`)]).frames), [CEF5424, CEF3164]);
  assert.deepEqual(texts(run([Buffer.from(`${CEF5424}\0${CEF3164}\0`)]).frames), [CEF5424, CEF3164]);
  const mixed = Buffer.from(`${CEF5424}\r\n\n${CEF3164}\0\r\n${LEEF}\n\n\0${CEF5424}\n`);
  for (let a = 0; a <= mixed.length; a++) {
    assert.deepEqual(texts(run(cut(mixed, [a])).frames), [CEF5424, CEF3164, LEEF, CEF5424], `split at ${a}`);
  }
});

test("framing is detected once per connection: digits at the start of a line do not make it octet-counted", () => {
  // Header-less lines that start with digits: an epoch-ms time and an ISO date.
  const first = "1763632800000 fw01 CEF:0|V|P|1|1|n|5|src=198.51.100.7";
  const iso = "2026-11-20T10:00:00Z fw01 CEF:0|V|P|1|1|n|5|src=198.51.100.7";
  const a = run([Buffer.from(`${first}\n${iso}\n12 is not a count here\n`)]);
  assert.equal(a.framing, "non-transparent");
  assert.deepEqual(texts(a.frames), [first, iso, "12 is not a count here"]);
  const b = run([Buffer.from(`${iso}\n${counted(CEF5424)}\n`)]);
  assert.equal(b.framing, "non-transparent");
  assert.deepEqual(texts(b.frames), [iso, counted(CEF5424)]);
  // A bare CEF line (no syslog header) is non-transparent.
  assert.deepEqual(texts(run([Buffer.from("CEF:0|V|P|1|1|n|5|src=1.2.3.4")]).frames), [
    "CEF:0|V|P|1|1|n|5|src=1.2.3.4",
  ]);
});

test("an octet-counted stream with a frame that has no count: a framing error with its bytes, then resync", () => {
  const stream = Buffer.from(`${counted(CEF5424)}${CEF3164}\n${counted(LEEF)}0 zero\n12x oops\n${counted(CEF3164)}`);
  const { frames } = run(cut(stream, [7, 300, 301]));
  assert.equal(frames.length, 6);
  assert.deepEqual(frames[0], { ok: true, text: CEF5424 });
  const bad = frames[1]!;
  assert.ok(!bad.ok && bad.text === CEF3164 && /expected an RFC 6587 octet count.*starts with "<"/.test(bad.reason));
  assert.deepEqual(frames[2], { ok: true, text: LEEF });
  const zero = frames[3]!;
  assert.ok(!zero.ok && zero.text === "0 zero" && /starts with "0"/.test(zero.reason));
  const digits = frames[4]!;
  assert.ok(!digits.ok && digits.text === "12x oops" && /found "12" followed by "x"/.test(digits.reason));
  assert.deepEqual(frames[5], { ok: true, text: CEF3164 });
});

const isTooLong = (f: Frame | undefined): f is Extract<Frame, { ok: false }> =>
  f !== undefined && !f.ok && f.code === "RIPOSTE_LINE_TOO_LONG";

test("an oversize message is reported with its first bytes and skipped, in both framings, without buffering it", () => {
  const max = 200;
  const big = `<134>1 - h a - - - CEF:0|V|P|1|1|big|5|msg=${"x".repeat(5_000)}`;
  const oc = Buffer.from(counted(CEF5424.slice(0, 150)) + counted(big) + counted("<1>1 - h a - - - after"));
  for (const chunks of [[oc], cut(oc, [10, 160, 400, 2_000, 5_100])]) {
    const d = new SyslogDeframer({ maxLineBytes: max });
    const frames: Frame[] = [];
    for (const c of chunks) {
      frames.push(...d.push(c));
      assert.ok((d as unknown as { kept: number }).kept <= max, "never more than maxLineBytes kept");
    }
    frames.push(...d.end());
    assert.equal(frames.length, 3);
    assert.ok(frames[0]!.ok);
    assert.deepEqual(frames[2], { ok: true, text: "<1>1 - h a - - - after" });
    const over = frames[1];
    assert.ok(isTooLong(over));
    assert.equal(over.text, big.slice(0, max));
    assert.match(
      over.reason,
      /^octet-counted message of 5[0-9]{3} bytes is longer than the 200-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\): its first 200 bytes are kept here/,
    );
  }
  const lf = Buffer.from(`short\n${big}\r\nafter\n`);
  const { frames } = run(cut(lf, [3, 100, 1_000, 4_000]), { maxLineBytes: max });
  assert.deepEqual(
    frames.map((f) => f.ok),
    [true, false, true],
  );
  assert.ok(isTooLong(frames[1]));
  assert.equal(frames[1].text, big.slice(0, max));
  assert.match(frames[1].reason, /^line longer than the 200-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\)/);
  // Exactly at the limit is fine, with any terminator.
  for (const end of ["\n", "\r\n", "\0", ""]) {
    assert.deepEqual(texts(run([Buffer.from(`${"y".repeat(max)}${end}`)], { maxLineBytes: max }).frames), [
      "y".repeat(max),
    ]);
    assert.deepEqual(
      texts(
        run([Buffer.from(`${"y".repeat(max)}\r`), Buffer.from(`\n${"z".repeat(max)}${end}`)], { maxLineBytes: max })
          .frames,
      ),
      ["y".repeat(max), "z".repeat(max)],
    );
  }
  // One byte more (a CR not followed by LF counts) is too long.
  for (const line of [`${"y".repeat(max + 1)}\n`, `${"y".repeat(max)}\rz\n`]) {
    const f = run([Buffer.from(line)], { maxLineBytes: max }).frames;
    assert.equal(f.length, 1);
    assert.ok(isTooLong(f[0]) && f[0].text === "y".repeat(max));
  }
});

test("a line over the limit is reported as soon as it passes it; the rest, up to its LF, is skipped unbuffered", () => {
  const max = 1_000;
  const d = new SyslogDeframer({ maxLineBytes: max });
  const kept = () => (d as unknown as { kept: number }).kept;
  assert.deepEqual(texts(d.push(Buffer.from(`first\n${"a".repeat(max)}`))), ["first"]);
  const reported = d.push(Buffer.from("b"));
  assert.equal(reported.length, 1);
  assert.ok(isTooLong(reported[0]) && reported[0].text === "a".repeat(max));
  assert.match(reported[0].reason, /1000-byte limit \(RIPOSTE_SYSLOG_MAX_LINE\).*rest of the line was discarded/);
  // 8 MB more of the same line: nothing reported, nothing kept.
  const mb = Buffer.alloc(1024 * 1024, "c");
  for (let k = 0; k < 8; k++) {
    assert.deepEqual(d.push(mb), []);
    assert.equal(kept(), 0);
  }
  assert.deepEqual(texts(d.push(Buffer.from("tail\nnext line\n"))), ["next line"]);
  assert.deepEqual(d.end(), []);
  // The rest may end with NUL too, and the stream may end inside it.
  assert.deepEqual(texts(run([Buffer.from(`${"x".repeat(max + 5)}\0after`)], { maxLineBytes: max }).frames).slice(1), [
    "after",
  ]);
  assert.equal(run([Buffer.from("x".repeat(max + 5))], { maxLineBytes: max }).frames.length, 1);
});

test("an octet-counted frame declaring a huge length: reported after its first bytes, the rest skipped unbuffered", () => {
  const max = 1_000;
  // 999,999,999: the largest count accepted. The stream ends long before it.
  const d = new SyslogDeframer({ maxLineBytes: max });
  const kept = () => (d as unknown as { kept: number }).kept;
  assert.deepEqual(texts(d.push(Buffer.from(`${counted(CEF5424)}999999999 <1>1 `))), [CEF5424]);
  const chunk = Buffer.alloc(64 * 1024, "z");
  const frames: Frame[] = [];
  for (let k = 0; k < 64; k++) {
    frames.push(...d.push(chunk));
    assert.ok(kept() <= max);
  }
  assert.equal(frames.length, 1, "reported once, as soon as its first maxLineBytes bytes were in");
  assert.ok(isTooLong(frames[0]) && frames[0].text === `<1>1 ${"z".repeat(max - 5)}`);
  assert.match(frames[0].reason, /octet-counted message of 999999999 bytes is longer than the 1000-byte limit/);
  assert.equal(kept(), 0);
  assert.deepEqual(d.end(), [], "already reported");
  // A declared length past the limit, then more frames: they are read once the declared length has passed.
  const body = "q".repeat(5_000);
  const stream = Buffer.from(counted(body) + counted(CEF3164) + counted(LEEF));
  for (const chunks of [[stream], cut(stream, [3, 900, 1_001, 1_006, 4_000, 5_005])]) {
    const f = run(chunks, { maxLineBytes: max }).frames;
    assert.equal(f.length, 3);
    assert.ok(isTooLong(f[0]) && f[0].text === "q".repeat(max));
    assert.deepEqual(f.slice(1), [
      { ok: true, text: CEF3164 },
      { ok: true, text: LEEF },
    ]);
  }
  // Cut off before the limit was reached: still too long, with what arrived.
  const short = run([Buffer.from(`5000 ${"r".repeat(300)}`)], { maxLineBytes: max }).frames;
  assert.ok(isTooLong(short[0]) && short[0].text === "r".repeat(300) && /stream ended after 300/.test(short[0].reason));
});

test("a line of only digits over the limit, at the end of the stream, is too long too", () => {
  // Digits could start an octet count: they are held as such until the stream says otherwise.
  for (const [stream, framing] of [
    ["12345", undefined],
    ["12345\n", undefined],
    ["12345x\n", undefined],
    ["123456789", "non-transparent"],
  ] as const) {
    const f = run([Buffer.from(stream)], { maxLineBytes: 4, ...(framing ? { framing } : {}) }).frames;
    assert.equal(f.length, 1, stream);
    assert.ok(isTooLong(f[0]) && f[0].text === "1234", stream);
  }
});

test("a too-long line keeps whole UTF-8 characters only", () => {
  const f = run([Buffer.from(`${"é".repeat(10)}\n`)], { maxLineBytes: 7 }).frames;
  assert.ok(isTooLong(f[0]));
  assert.equal(f[0].text, "ééé");
  assert.match(f[0].reason, /its first 6 bytes are kept/);
  const g = run([Buffer.from(`ab${"✓".repeat(3)}\n`)], { maxLineBytes: 6 }).frames;
  assert.ok(isTooLong(g[0]) && g[0].text === "ab✓");
});

test("de-framing is linear: a run of CR/LF inside an octet-counted message (time for 4n / time for n)", () => {
  const newlines = (n: number) => {
    const b = Buffer.from(counted(`x${"\n".repeat(n)}x`));
    return () => new SyslogDeframer({ maxLineBytes: 1 << 24 }).push(b);
  };
  const r = growth(newlines, 8_000);
  assert.ok(r < LINEAR, `4x the input took ${r.toFixed(1)}x the time`);
});

test("de-framing is linear: a 64 KB chunk of many short LF- and NUL-terminated lines", () => {
  const lines = (n: number) => {
    const b = Buffer.from("ab\0cd\n".repeat(n / 6));
    return () => new SyslogDeframer().push(b);
  };
  const r = growth(lines, 16_000);
  assert.ok(r < LINEAR, `4x the input took ${r.toFixed(1)}x the time`);
});

test("end() returns the remainder: an unterminated line, or a cut-off octet-counted frame", () => {
  assert.deepEqual(texts(run([Buffer.from(`${CEF5424}\n${CEF3164}`)]).frames), [CEF5424, CEF3164]);
  assert.deepEqual(texts(run([Buffer.from(`${CEF5424}\n42`)]).frames), [CEF5424, "42"]);
  const cutOff = run([Buffer.from(counted(CEF5424) + counted(CEF3164).slice(0, 40))]).frames;
  assert.equal(cutOff.length, 2);
  const partial = cutOff[1]!;
  assert.ok(!partial.ok && partial.text === CEF3164.slice(0, 36));
  assert.match(partial.reason, /ended after 36 of the \d+ bytes of an octet-counted message/);
  const inCount = run([Buffer.from(`${counted(CEF5424)}12`)]).frames;
  const inCountErr = inCount[1]!;
  assert.ok(!inCountErr.ok && inCountErr.text === "12" && /inside an octet count/.test(inCountErr.reason));
  const d = new SyslogDeframer();
  assert.deepEqual(d.push(Buffer.from(`${CEF5424}\npart`)), [{ ok: true, text: CEF5424 }]);
  assert.deepEqual(d.end(), [{ ok: true, text: "part" }]);
  assert.deepEqual(d.end(), []);
  assert.deepEqual(new SyslogDeframer().end(), []);
});

test("UDP datagrams: one message, or several lines; trailing LF, CRLF and NUL are terminators", () => {
  assert.deepEqual(texts(splitDatagram(Buffer.from(CEF5424))), [CEF5424]);
  assert.deepEqual(texts(splitDatagram(Buffer.from(`${CEF5424}\n`))), [CEF5424]);
  assert.deepEqual(texts(splitDatagram(Buffer.from(`${CEF5424}\r\n${CEF3164}\n\n${LEEF}\0`))), [
    CEF5424,
    CEF3164,
    LEEF,
  ]);
  // A datagram is never octet-counted.
  assert.deepEqual(texts(splitDatagram(Buffer.from("12 hello"))), ["12 hello"]);
  assert.deepEqual(splitDatagram(Buffer.from("\n\r\n")), []);
  const over = splitDatagram(Buffer.from(`${"z".repeat(300)}\nafter`), 100);
  assert.equal(over.length, 2);
  assert.ok(isTooLong(over[0]) && over[0].text.length === 100);
  assert.deepEqual(over[1], { ok: true, text: "after" });
});

test("maxLineBytes must be a positive integer", () => {
  assert.throws(() => new SyslogDeframer({ maxLineBytes: 0 }), RangeError);
});
