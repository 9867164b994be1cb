/**
 * Syslog message framing (pure): RFC 6587 TCP de-framing, octet counting (`<length> <message>`) or non-transparent
 * framing (messages terminated by LF, CRLF or NUL), and UDP datagram splitting (RFC 5426, one or more LF-separated
 * messages per datagram). Every byte ends up in a frame: a message, or a framing error carrying its bytes (bounded
 * by the maximum message size), so that nothing is silently lost. Memory per stream is bounded by that maximum.
 */

/** One de-framed message, or bytes that could not be framed as one (with why). */
export type Frame =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly text: string; readonly reason: string };

/** RFC 6587 framing methods. */
export type Framing = "octet-counting" | "non-transparent";

/** Default bound of one message: 64 KiB (syslog-ng's default; RFC 5425 asks receivers for at least 2 KiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

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
  /** Longest message kept (bytes); longer ones are reported as framing errors with their first bytes. */
  readonly maxMessageBytes?: number;
  /** Framing of the stream; by default it is detected from its first frame (see {@link SyslogDeframer}). */
  readonly framing?: Framing;
}

type State = "between" | "count" | "body" | "line";

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
 * - a message over `maxMessageBytes` is skipped without being buffered and reported as a framing error carrying its
 *   first `maxMessageBytes` bytes.
 *
 * Text is decoded as UTF-8 once a frame is complete, so multi-byte characters may span chunks.
 */
export class SyslogDeframer {
  readonly maxMessageBytes: number;
  private detected: Framing | undefined;
  private state: State = "between";
  /** The current frame's kept bytes (at most maxMessageBytes). */
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
  private out: Frame[] = [];

  constructor(opts: DeframerOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(this.maxMessageBytes) || this.maxMessageBytes < 1) {
      throw new RangeError(`maxMessageBytes must be a positive integer, not ${String(opts.maxMessageBytes)}`);
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
          if (this.remaining === 0) this.emitCounted();
          break;
        }
        case "line": {
          let j = i;
          while (j < n && chunk[j] !== LF && chunk[j] !== NUL) j++;
          this.keep(chunk, i, j);
          if (j < n) {
            this.emitLine();
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
    if (this.state !== "between" && last >= 0 && this.parts[last]!.buffer === chunk.buffer) {
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
        this.reportError(
          this.text(),
          `framing error: the stream ended after ${this.seen} of the ${this.length} bytes of an octet-counted message`,
        );
        break;
      case "line":
        this.emitLine();
        break;
    }
    this.state = "between";
    this.resetFrame();
    return this.out;
  }

  private startLine(error: string | undefined): void {
    this.state = "line";
    this.lineError = error;
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
    const room = this.maxMessageBytes - this.kept;
    if (room <= 0) return;
    const end = Math.min(to, from + room);
    this.parts.push(buf.subarray(from, end));
    this.kept += end - from;
  }

  private text(): string {
    return Buffer.concat(this.parts, this.kept).toString("utf8");
  }

  private oversize(): string | undefined {
    return this.seen > this.maxMessageBytes
      ? `message of ${this.seen} bytes exceeds the ${this.maxMessageBytes}-byte limit; only its first ${this.maxMessageBytes} bytes are kept here`
      : undefined;
  }

  private emitCounted(): void {
    const over = this.oversize();
    if (over) this.reportError(this.text(), `framing error: ${over}`);
    else {
      const text = this.text().replace(/[\r\n\0]+$/, "");
      if (text.trim() !== "") this.out.push({ ok: true, text });
    }
    this.state = "between";
    this.resetFrame();
  }

  private emitLine(): void {
    const over = this.oversize();
    const text = this.text().replace(/\r$/, "");
    if (this.lineError !== undefined) this.reportError(text, over ? `${this.lineError}; ${over}` : this.lineError);
    else if (over) this.reportError(text, `framing error: ${over}`);
    else if (text.trim() !== "") this.out.push({ ok: true, text });
    this.state = "between";
    this.lineError = undefined;
    this.resetFrame();
  }

  private reportError(text: string, reason: string): void {
    this.out.push({ ok: false, text, reason });
  }
}

/**
 * The messages of one UDP datagram: one per LF- (or CRLF-, or NUL-) terminated line, the last line needing no
 * terminator; empty lines are skipped and lines over `maxMessageBytes` are framing errors.
 */
export function splitDatagram(datagram: Buffer, maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES): Frame[] {
  const d = new SyslogDeframer({ maxMessageBytes, framing: "non-transparent" });
  const frames = d.push(datagram);
  return frames.concat(d.end());
}
