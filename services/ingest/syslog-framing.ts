/**
 * Syslog message framing (pure): RFC 6587 TCP de-framing, octet counting (`<length> <message>`) or non-transparent
 * framing (messages terminated by LF, CRLF or NUL), and UDP datagram splitting (RFC 5426, one or more LF-separated
 * messages per datagram). Every message ends up in a frame: a message, or a framing error carrying its bytes (at
 * most the line limit), so that nothing is silently lost. Memory per stream is bounded by that limit, and the work
 * is linear in the bytes received: each byte is looked at once.
 */

/** One de-framed message, or bytes that could not be framed as one (with why; `code` when a catalogue code fits). */
export type Frame =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly text: string; readonly reason: string; readonly code?: "RIPOSTE_LINE_TOO_LONG" };

/** RFC 6587 framing methods. */
export type Framing = "octet-counting" | "non-transparent";

/** Default bound of one message: 64 KiB (syslog-ng's default; RFC 5425 asks receivers for at least 2 KiB). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** The configuration variable that sets the line limit, named in the reasons of too-long lines. */
export const MAX_LINE_VARIABLE = "RIPOSTE_SYSLOG_MAX_LINE";

/** An octet count of more digits than this (≥ 1 GB) is not one: the stream is not octet-counted, or is broken. */
const MAX_COUNT_DIGITS = 9;

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const ZERO = 0x30;
const NINE = 0x39;

const isDigit = (c: number) => c >= ZERO && c <= NINE;

function describe(c: number): string {
  return c > SP && c < 0x7f ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16).padStart(2, "0")}`;
}

export interface DeframerOptions {
  /**
   * Longest message (bytes, not counting its terminator); a longer one is reported as soon as it passes the limit,
   * as a RIPOSTE_LINE_TOO_LONG frame with its first bytes, and the rest of it is skipped without being kept.
   * Default {@link DEFAULT_MAX_LINE_BYTES}.
   */
  readonly maxLineBytes?: number;
  /** Framing of the stream; by default it is detected from its first frame (see {@link SyslogDeframer}). */
  readonly framing?: Framing;
}

/** `skip-body` / `skip-line`: the rest of a too-long frame or line, already reported, is being discarded. */
type State = "between" | "count" | "body" | "line" | "skip-body" | "skip-line";

/**
 * De-frames one TCP connection's byte stream. Feed it chunks as they arrive; each call returns the frames completed
 * by that chunk, and {@link end} returns what remains when the connection ends.
 *
 * The framing is detected once per connection, from the first frame: a non-zero digit, more digits and a space
 * mean octet counting; anything else (`<` of a PRI, or a bare `CEF:`/`LEEF:` line) means non-transparent framing.
 * Then:
 * - non-transparent: a message ends at LF (a CR before it is dropped) or NUL; empty lines are skipped.
 * - octet counting: `<length> <message>`; LF, CR or NUL between frames are skipped (senders that append a newline);
 *   a frame that does not start with an octet count is a framing error, reported with its bytes up to the next LF
 *   or NUL, after which the stream is read as octet-counted again. Trailing CR/LF/NUL inside a message are dropped.
 * - a message over `maxLineBytes` is reported once it passes the limit (an octet-counted one as soon as its first
 *   `maxLineBytes` bytes are in), as a RIPOSTE_LINE_TOO_LONG frame carrying those first bytes (cut back to a whole
 *   UTF-8 character), and the rest of it, up to its LF/NUL or the end of its octet count, is skipped without being
 *   buffered. The frames after it are read as usual.
 *
 * Text is decoded as UTF-8 once a frame is complete, so multi-byte characters may span chunks.
 */
export class SyslogDeframer {
  readonly maxLineBytes: number;
  private detected: Framing | undefined;
  private state: State = "between";
  /** The current frame's kept bytes (at most maxLineBytes). */
  private parts: Buffer[] = [];
  private kept = 0;
  /** Bytes of the current frame seen, kept or not. */
  private seen = 0;
  /** Octet counting: the digits read so far, then the announced length and what is still to read. */
  private digits = "";
  private length = 0;
  private remaining = 0;
  /** Why the current line is a framing error (octet-counted stream without a count), if it is. */
  private lineError: string | undefined;
  /** The last byte of the current line seen so far (a CR just past the limit may still be a CRLF terminator). */
  private lastByte = -1;
  private out: Frame[] = [];
  /** Where the next LF and NUL of the chunk being pushed are (see {@link lineEnd}). */
  private lfAt = -1;
  private nulAt = -1;

  constructor(opts: DeframerOptions = {}) {
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(this.maxLineBytes) || this.maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, not ${String(opts.maxLineBytes)}`);
    }
    this.detected = opts.framing;
  }

  /** The stream's framing, once its first frame has told. */
  get framing(): Framing | undefined {
    return this.detected;
  }

  /** Frames completed by this chunk. */
  push(chunk: Buffer): Frame[] {
    this.out = [];
    this.lfAt = -1;
    this.nulAt = -1;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case "between": {
          const c = chunk[i]!;
          if (c === LF || c === CR || c === NUL) {
            i++;
          } else if (isDigit(c) && c !== ZERO && this.detected !== "non-transparent") {
            this.state = "count";
            this.digits = "";
          } else if (this.detected === "octet-counting") {
            this.startLine(
              `framing error: expected an RFC 6587 octet count ("<length> <message>") but the frame starts with ${describe(c)}; kept up to the next line feed`,
            );
          } else {
            this.detected = "non-transparent";
            this.startLine(undefined);
          }
          break;
        }
        case "count": {
          const c = chunk[i]!;
          if (isDigit(c) && this.digits.length < MAX_COUNT_DIGITS) {
            this.digits += String.fromCharCode(c);
            i++;
          } else if (c === SP) {
            this.detected = "octet-counting";
            this.length = Number(this.digits);
            this.remaining = this.length;
            this.state = "body";
            this.resetFrame();
            i++;
          } else {
            // Not an octet count: a line that starts with digits, or a broken octet-counted stream.
            const reason =
              this.detected === "octet-counting"
                ? `framing error: expected an RFC 6587 octet count ("<length> <message>") but found "${this.digits}" followed by ${describe(c)}; kept up to the next line feed`
                : undefined;
            if (this.detected === undefined) this.detected = "non-transparent";
            const digits = this.digits;
            this.startLine(reason);
            this.keep(Buffer.from(digits, "latin1"), 0, digits.length);
          }
          break;
        }
        case "body": {
          const take = Math.min(this.remaining, n - i);
          this.keep(chunk, i, i + take);
          i += take;
          this.remaining -= take;
          if (this.length > this.maxLineBytes && this.kept === this.maxLineBytes) {
            this.reportTooLong(
              `octet-counted message of ${this.length} bytes is longer than the ${this.maxLineBytes}-byte limit (${MAX_LINE_VARIABLE})`,
              "the rest of the message was discarded",
            );
            this.state = this.remaining > 0 ? "skip-body" : "between";
            this.resetFrame();
          } else if (this.remaining === 0) this.emitCounted();
          break;
        }
        case "skip-body": {
          const take = Math.min(this.remaining, n - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = "between";
          break;
        }
        case "line": {
          const j = this.lineEnd(chunk, i);
          if (j > i) {
            this.keep(chunk, i, j);
            this.lastByte = chunk[j - 1]!;
          }
          // One byte past the limit is allowed while it is a CR: it may be the start of a CRLF terminator.
          if (this.seen > this.maxLineBytes && !(this.seen === this.maxLineBytes + 1 && this.lastByte === CR)) {
            this.reportTooLong(
              `line longer than the ${this.maxLineBytes}-byte limit (${MAX_LINE_VARIABLE})`,
              "the rest of the line was discarded",
              this.lineError,
            );
            this.lineError = undefined;
            this.state = "skip-line";
            this.resetFrame();
            // The terminator (if in this chunk) is consumed by skip-line.
            i = j;
          } else if (j < n) {
            this.emitLine();
            i = j + 1;
          } else {
            i = n;
          }
          break;
        }
        case "skip-line": {
          const j = this.lineEnd(chunk, i);
          if (j < n) {
            this.state = "between";
            i = j + 1;
          } else {
            i = n;
          }
          break;
        }
      }
    }
    // A frame continuing past this chunk must not pin the chunk in memory: copy its (bounded) part of it.
    const last = this.parts.length - 1;
    if (last >= 0 && this.parts[last]!.buffer === chunk.buffer) {
      this.parts[last] = Buffer.from(this.parts[last]!);
    }
    return this.out;
  }

  /** What remains once the stream has ended: an unterminated last line, or a cut-off octet-counted frame. */
  end(): Frame[] {
    this.out = [];
    switch (this.state) {
      case "between":
        break;
      case "count":
        if (this.detected === "octet-counting") {
          this.reportError(this.digits, `framing error: the stream ended inside an octet count ("${this.digits}")`);
        } else {
          this.detected = "non-transparent";
          this.startLine(undefined);
          this.keep(Buffer.from(this.digits, "latin1"), 0, this.digits.length);
          this.emitLine();
        }
        break;
      case "body":
        if (this.length > this.maxLineBytes) {
          this.reportTooLong(
            `octet-counted message of ${this.length} bytes is longer than the ${this.maxLineBytes}-byte limit (${MAX_LINE_VARIABLE})`,
            `the stream ended after ${this.seen} of its bytes`,
          );
        } else {
          this.reportError(
            this.text(),
            `framing error: the stream ended after ${this.seen} of the ${this.length} bytes of an octet-counted message`,
          );
        }
        break;
      case "line":
        this.emitLine();
        break;
      case "skip-body":
      case "skip-line":
        break; // already reported
    }
    this.state = "between";
    this.resetFrame();
    return this.out;
  }

  private startLine(error: string | undefined): void {
    this.state = "line";
    this.lineError = error;
    this.lastByte = -1;
    this.resetFrame();
  }

  private resetFrame(): void {
    this.parts = [];
    this.kept = 0;
    this.seen = 0;
  }

  /** Counts bytes [from, to) of `buf` into the current frame, keeping them while under the limit. */
  private keep(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.seen += to - from;
    const room = this.maxLineBytes - this.kept;
    if (room <= 0) return;
    const end = Math.min(to, from + room);
    this.parts.push(buf.subarray(from, end));
    this.kept += end - from;
  }

  /**
   * Index of the first LF or NUL in `chunk` (the one being pushed) at or after `from`, or its length. The next LF's
   * and NUL's positions are remembered per chunk, so that each byte is searched once whichever terminators it has.
   */
  private lineEnd(chunk: Buffer, from: number): number {
    if (this.lfAt < from) {
      const lf = chunk.indexOf(LF, from);
      this.lfAt = lf < 0 ? chunk.length : lf;
    }
    if (this.nulAt < from) {
      const nul = chunk.indexOf(NUL, from);
      this.nulAt = nul < 0 ? chunk.length : nul;
    }
    return Math.min(this.lfAt, this.nulAt);
  }

  private bytes(): Buffer {
    return Buffer.concat(this.parts, this.kept);
  }

  private text(): string {
    return this.bytes().toString("utf8");
  }

  private emitCounted(): void {
    const text = trimTerminators(this.text());
    if (text.trim() !== "") this.out.push({ ok: true, text });
    this.state = "between";
    this.resetFrame();
  }

  private emitLine(): void {
    if (this.seen > this.maxLineBytes && !(this.seen === this.maxLineBytes + 1 && this.lastByte === CR)) {
      // Only digits kept before the line was known not to be an octet count can get here past the limit.
      this.reportTooLong(
        `line longer than the ${this.maxLineBytes}-byte limit (${MAX_LINE_VARIABLE})`,
        "the rest of the line was discarded",
        this.lineError,
      );
      this.state = "between";
      this.lineError = undefined;
      this.resetFrame();
      return;
    }
    let text = this.text();
    // The CR of a CRLF: the last byte kept, or the one byte past the limit that was not kept.
    if (this.seen === this.kept && text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
    if (this.lineError !== undefined) this.reportError(text, this.lineError);
    else if (text.trim() !== "") this.out.push({ ok: true, text });
    this.state = "between";
    this.lineError = undefined;
    this.resetFrame();
  }

  private reportError(text: string, reason: string): void {
    this.out.push({ ok: false, text, reason });
  }

  /** Reports the current (too long) frame with its kept bytes, cut back to a whole UTF-8 character. */
  private reportTooLong(what: string, rest: string, note?: string): void {
    const kept = utf8Prefix(this.bytes());
    this.out.push({
      ok: false,
      code: "RIPOSTE_LINE_TOO_LONG",
      text: kept.toString("utf8"),
      reason: `${what}: its first ${kept.length} bytes are kept here and ${rest}${note ? ` (${note})` : ""}`,
    });
  }
}

/** `s` without trailing CR, LF and NUL (senders that count their newline in the octet count). */
function trimTerminators(s: string): string {
  let end = s.length;
  for (let c = s.charCodeAt(end - 1); c === CR || c === LF || c === NUL; c = s.charCodeAt(end - 1)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** `b` without a UTF-8 character cut off at its end. */
function utf8Prefix(b: Buffer): Buffer {
  let i = b.length - 1;
  while (i >= 0 && b.length - i < 4 && (b[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return b;
  const lead = b[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + need > b.length ? b.subarray(0, i) : b;
}

/**
 * The messages of one UDP datagram: one per LF- (or CRLF-, or NUL-) terminated line, the last line needing no
 * terminator; empty lines are skipped and lines over `maxLineBytes` are RIPOSTE_LINE_TOO_LONG frames.
 */
export function splitDatagram(datagram: Buffer, maxLineBytes: number = DEFAULT_MAX_LINE_BYTES): Frame[] {
  const d = new SyslogDeframer({ maxLineBytes, framing: "non-transparent" });
  const frames = d.push(datagram);
  return frames.concat(d.end());
}
