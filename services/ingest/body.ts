/**
 * Splits an ingest body into raw events: a JSON object, a JSON array of objects, NDJSON, concatenated or
 * pretty-printed JSON objects, or text lines (syslog, CEF, LEEF). Pure.
 *
 * Work is linear in the body's bytes whatever it holds: every line is parsed at most once on its own, bracket
 * matching for multi-line objects is one pass over the body, and the multi-line candidates tried are disjoint.
 * The number of events and the nesting depth of each are capped (a hostile body can neither grow the work nor
 * overflow the stack of a later stage).
 */
import { RiposteError } from "../shared/errors.ts";
import { normalizeEvent, type NormalizeContext, type NormalizeOutcome, type RawEvent } from "./normalizers/index.ts";

/** Why a piece could not be read as an event. */
export type PieceCode = "RIPOSTE_BODY_INVALID" | "RIPOSTE_NESTING_TOO_DEEP" | "RIPOSTE_LINE_TOO_LONG";

/** One piece of a body: an event with its own text, or text that could not be read as an event. */
export type Piece =
  | { readonly ok: true; readonly event: RawEvent; readonly text: string }
  | { readonly ok: false; readonly text: string; readonly reason: string; readonly code?: PieceCode };

export interface SplitLimits {
  /** Most events in one body (RIPOSTE_INGEST_MAX_EVENTS); more is refused as a whole with RIPOSTE_TOO_MANY_EVENTS. */
  readonly maxEvents: number;
  /** Deepest nesting of one JSON event (RIPOSTE_INGEST_MAX_DEPTH); a deeper one is a RIPOSTE_NESTING_TOO_DEEP piece. */
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: SplitLimits = { maxEvents: 50_000, maxDepth: 64 };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** How far a multi-line object may extend. */
const MAX_OBJECT_CHARS = 1024 * 1024;

/** Whitespace before an object on its line: ASCII blanks, no-break space and the byte-order mark. */
function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff;
}

/**
 * Nesting depth of a JSON text (`{}` is 1), counted outside strings; stops counting once past `limit`. As in
 * ObjectEnds, a string ends at a line break (JSON strings cannot hold one), so a line cut inside a string cannot
 * hide the nesting of the lines after it.
 */
export function jsonDepth(s: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  // Inside a string, jump to whichever comes first of the next quote, backslash or line break: the next position of
  // each is found with indexOf and kept until the scan passes it, so the whole scan stays one pass over the text.
  let quote = -1;
  let slash = -1;
  let newline = -1;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      // In a string from i + 1.
      let j = i + 1;
      for (;;) {
        if (quote < j) quote = indexOr(s, '"', j, n);
        if (slash < j) slash = indexOr(s, "\\", j, n);
        if (newline < j) newline = indexOr(s, "\n", j, n);
        const end = Math.min(quote, slash, newline);
        if (end >= n) return max;
        if (end === slash) {
          // An escape never takes the line break: the string ends there all the same.
          j = s.charCodeAt(end + 1) === 10 ? end + 1 : end + 2;
          continue;
        }
        // A quote closes the string; a line break ends it (and is not itself nesting).
        i = end;
        break;
      }
    } else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** The index of `ch` in `s` from `from`, else `n` (the length). */
function indexOr(s: string, ch: string, from: number, n: number): number {
  const i = s.indexOf(ch, from);
  return i < 0 ? n : i;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const TOO_DEEP = -2;

/**
 * For every `{` that is the first non-blank character of its line (or follows a closing bracket): the index just
 * past its matching bracket, or TOO_DEEP when the object nests deeper than `maxDepth`. Unclosed ones are absent.
 * Strings end at a line break (JSON strings cannot hold one), so the string state at each line start is the same
 * whichever earlier line a scan started from. The scan is incremental (`advanceTo`): it goes only as far as the
 * splitter asks, so a body refused for its number of events is not scanned to its end, and the whole scan is one
 * pass however many times it is asked.
 */
class ObjectEnds {
  private readonly ends = new Map<number, number>();
  /** Open brackets not yet closed, as a ring of the innermost maxDepth; the ones below are counted in `dropped`. */
  private readonly ring: Int32Array;
  private top = 0;
  private size = 0;
  private dropped = 0;
  private i = 0;
  private inString = false;
  private lineStart = true;
  private afterClose = false;
  private pruneAt = 65_536;
  private readonly s: string;

  constructor(s: string, maxDepth: number) {
    this.s = s;
    this.ring = new Int32Array(Math.max(1, maxDepth));
  }

  /** The end of the object starting at `start`, scanning at most `maxChars` past it; -1 when none. */
  endOf(start: number, maxChars: number): number {
    this.advanceTo(Math.min(this.s.length, start + maxChars + 1));
    const end = this.ends.get(start);
    this.ends.delete(start);
    return end ?? -1;
  }

  /** Forgets ends of objects starting before `pos` (never asked for: inside an object already split off). */
  prune(pos: number): void {
    if (this.ends.size < this.pruneAt) return;
    for (const k of this.ends.keys()) if (k < pos) this.ends.delete(k);
    // Amortized: the next prune waits until the map has doubled again.
    this.pruneAt = Math.max(65_536, 2 * this.ends.size);
  }

  private advanceTo(limit: number): void {
    const s = this.s;
    const ring = this.ring;
    const cap = ring.length;
    let i = this.i;
    for (; i < limit; i++) {
      const c = s.charCodeAt(i);
      if (c === 10) {
        this.inString = false;
        this.lineStart = true;
        this.afterClose = false;
        continue;
      }
      if (this.inString) {
        // An escape never takes the line break: the string ends there all the same.
        if (c === 92) {
          if (s.charCodeAt(i + 1) !== 10) i++;
        } else if (c === 34) this.inString = false;
        continue;
      }
      const blank = isBlank(c);
      // Where a split may start an object: the first character of a line, or the next one after a closed object.
      const first = (this.lineStart || this.afterClose) && !blank;
      if (first) this.lineStart = false;
      if (!blank) this.afterClose = false;
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) {
        if (this.size === cap) {
          // The bottom of the ring is overwritten: that bracket's object nests deeper than maxDepth.
          const bottom = ring[(this.top - cap + cap * 2) % cap] as number;
          if (bottom >= 0) this.ends.set(bottom, TOO_DEEP);
          this.dropped++;
          this.size--;
        }
        // Negative entries are brackets whose end nobody asks for.
        ring[this.top] = first && c === 123 ? i : -1;
        this.top = (this.top + 1) % cap;
        this.size++;
      } else if (c === 125 || c === 93) {
        if (this.size > 0) {
          this.top = (this.top - 1 + cap) % cap;
          this.size--;
          const start = ring[this.top] as number;
          if (start >= 0) this.ends.set(start, i + 1);
        } else if (this.dropped > 0) this.dropped--;
        this.afterClose = true;
      }
    }
    this.i = i;
  }
}

/**
 * The text of each element of a JSON array that parsed (so it is well formed), with its nesting depth: original
 * bytes, not re-serialized values (which could also overflow the stack for deep ones).
 */
function arrayElements(s: string): Array<{ text: string; depth: number }> {
  const out: Array<{ text: string; depth: number }> = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  let max = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (depth === 1 && start < 0 && !isBlank(c) && c !== 44 && c !== 93) {
      start = i;
      max = 0;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth - 1 > max) max = depth - 1;
    } else if (c === 125 || c === 93) {
      if (depth === 1 && start >= 0) {
        out.push({ text: s.slice(start, i).trimEnd(), depth: max });
        start = -1;
      }
      depth--;
    } else if (c === 44 && depth === 1 && start >= 0) {
      out.push({ text: s.slice(start, i).trimEnd(), depth: max });
      start = -1;
    }
  }
  return out;
}

function tooMany(limits: SplitLimits): RiposteError {
  return new RiposteError(
    "RIPOSTE_TOO_MANY_EVENTS",
    `the body holds more than ${limits.maxEvents} events (RIPOSTE_INGEST_MAX_EVENTS): split it into smaller batches`,
  );
}

function tooDeep(text: string, where: string, limits: SplitLimits): Piece {
  return {
    ok: false,
    text,
    code: "RIPOSTE_NESTING_TOO_DEEP",
    reason: `${where} nests deeper than ${limits.maxDepth} levels (RIPOSTE_INGEST_MAX_DEPTH)`,
  };
}

function jsonPiece(value: unknown, text: string, where: string, limits: SplitLimits, depth?: number): Piece {
  if (!isObject(value)) {
    return {
      ok: false,
      text,
      reason: `${where} is ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}, not a JSON object`,
    };
  }
  if ((depth ?? jsonDepth(text, limits.maxDepth)) > limits.maxDepth) return tooDeep(text, where, limits);
  return { ok: true, event: { kind: "json", value }, text };
}

/**
 * The pieces of a body. A body that parses as JSON is one object or an array of objects. Otherwise it is read line by
 * line: a line starting with `{` is one JSON object (or the first line of a multi-line one), any other
 * non-empty line is a text event. A broken line becomes one failed piece; the lines after it are unaffected.
 * Throws RIPOSTE_TOO_MANY_EVENTS when the body holds more than `limits.maxEvents` pieces.
 */
function* piecesOf(body: string, limits: SplitLimits): Generator<Piece> {
  const trimmed = body.trim();
  if (trimmed === "") {
    yield { ok: false, text: body, reason: "the body is empty" };
    return;
  }
  // Too deep to parse whole (JSON.parse of megabytes of `[[[[` is slow and big): an array is split into its elements
  // by text, each parsed alone; an object body with several lines is read line by line; one line is one deep piece.
  // One scan of the body's nesting: when nothing in it nests deeper than the limit, no piece needs its own check.
  const bodyDepth = jsonDepth(trimmed, limits.maxDepth + 1);
  const checkPieces = bodyDepth > limits.maxDepth;
  const deep = (trimmed.startsWith("{") || trimmed.startsWith("[")) && bodyDepth > limits.maxDepth + 1;
  const piece = (value: unknown, text: string, where: string, depth?: number) =>
    jsonPiece(value, text, where, limits, checkPieces ? depth : 0);
  if (deep && trimmed.startsWith("[")) {
    const elements = arrayElements(trimmed);
    if (elements.length > limits.maxEvents) throw tooMany(limits);
    if (elements.length === 0) {
      yield tooDeep(body, "the body", limits);
      return;
    }
    for (let i = 0; i < elements.length; i++) {
      const el = elements[i] as { text: string; depth: number };
      if (el.depth > limits.maxDepth) {
        yield tooDeep(el.text, `element ${i}`, limits);
        continue;
      }
      const one = tryParse(el.text);
      yield one.ok
        ? piece(one.value, el.text, `element ${i}`, el.depth)
        : { ok: false, text: el.text, reason: `element ${i} is not valid JSON: ${one.error}` };
    }
    return;
  }
  if (deep && !trimmed.includes("\n")) {
    yield tooDeep(body, "the body", limits);
    return;
  }
  if (!deep && (trimmed.startsWith("{") || trimmed.startsWith("["))) {
    const whole = tryParse(trimmed);
    if (whole.ok) {
      if (!Array.isArray(whole.value)) {
        yield piece(whole.value, trimmed, "the body");
        return;
      }
      const values: unknown[] = whole.value;
      if (values.length === 0) {
        yield { ok: false, text: body, reason: "the body is an empty JSON array" };
        return;
      }
      if (values.length > limits.maxEvents) throw tooMany(limits);
      const elements = arrayElements(trimmed);
      for (let i = 0; i < values.length; i++) {
        const el = elements[i] ?? { text: "", depth: Infinity };
        yield piece(values[i], el.text, `element ${i}`, el.depth);
      }
      return;
    }
    if (trimmed.startsWith("[") || !trimmed.includes("\n")) {
      yield { ok: false, text: body, reason: `the body is not valid JSON: ${whole.error}` };
      return;
    }
  }
  let count = 0;
  const counted = (p: Piece): Piece => {
    if (++count > limits.maxEvents) throw tooMany(limits);
    return p;
  };
  let ends: ObjectEnds | undefined;
  // Multi-line candidates are tried only past the end of the last one that failed, so they never overlap.
  let tryFrom = 0;
  let pos = 0;
  let lineNo = 1;
  while (pos < body.length) {
    const nl = body.indexOf("\n", pos);
    const lineEnd = nl < 0 ? body.length : nl;
    let first = pos;
    while (first < lineEnd && isBlank(body.charCodeAt(first))) first++;
    let next = lineEnd + 1;
    if (first < lineEnd) {
      const line = body.slice(pos, body.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
      const where = `line ${lineNo}`;
      if (body.charCodeAt(first) === 123) {
        // A line whose last non-blank character is not `}` cannot be an object on its own: no parse (and no thrown
        // error, which costs more than the scan) for it.
        let last = line.length - 1;
        while (last > 0 && isBlank(line.charCodeAt(last))) last--;
        if (checkPieces && line.charCodeAt(last) === 125 && jsonDepth(line, limits.maxDepth) > limits.maxDepth) {
          // Not parsed at all: a line of megabytes of nesting would cost seconds in JSON.parse.
          yield counted(tooDeep(line, where, limits));
          lineNo += countNewlines(body, pos, next);
          pos = next;
          continue;
        }
        const one =
          line.charCodeAt(last) === 125
            ? tryParse(line)
            : ({ ok: false, error: "the object does not end on this line" } as const);
        if (one.ok) yield counted(piece(one.value, line, where));
        else {
          ends ??= new ObjectEnds(body, limits.maxDepth);
          const end = first >= tryFrom ? ends.endOf(first, MAX_OBJECT_CHARS) : -1;
          ends.prune(first);
          // A candidate that is the line itself already failed.
          const tryIt = end > 0 && end - first <= MAX_OBJECT_CHARS && end !== pos + last + 1;
          const multi = tryIt ? tryParse(body.slice(first, end)) : undefined;
          if (multi?.ok) {
            yield counted(piece(multi.value, body.slice(first, end), `the object at ${where}`));
            next = end;
          } else {
            if (end > 0) tryFrom = end;
            yield counted(
              end === TOO_DEEP
                ? tooDeep(line, `the object opened at ${where}`, limits)
                : { ok: false, text: line, reason: `${where} is not valid JSON: ${one.error}` },
            );
          }
        }
      } else {
        yield counted({ ok: true, event: { kind: "text", value: line }, text: line });
      }
    }
    lineNo += countNewlines(body, pos, next);
    pos = next;
  }
}

/** Splits a body at once (the CLI, tests). */
export function splitBody(body: string, limits: SplitLimits = DEFAULT_LIMITS): Piece[] {
  return [...piecesOf(body, limits)];
}

/** Pieces between two yields to the event loop in splitBodyAsync. */
const YIELD_EVERY = 512;

/**
 * Splits a body, yielding to the event loop every few hundred pieces so a big body never stalls other
 * requests. Rejects with RIPOSTE_TOO_MANY_EVENTS before anything is published.
 */
export async function splitBodyAsync(body: string, limits: SplitLimits = DEFAULT_LIMITS): Promise<Piece[]> {
  const out: Piece[] = [];
  for (const p of piecesOf(body, limits)) {
    out.push(p);
    if (out.length % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  const end = Math.min(to, s.length);
  for (let i = s.indexOf("\n", from); i >= 0 && i < end; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** The outcome of one piece: a piece that could not be read as an event fails with its code. */
export function normalizePiece(piece: Piece, ctx: NormalizeContext): NormalizeOutcome | BodyInvalid {
  return piece.ok
    ? normalizeEvent(piece.event, piece.text, ctx)
    : { ok: false, code: piece.code ?? "RIPOSTE_BODY_INVALID", reason: piece.reason };
}

export interface BodyInvalid {
  readonly ok: false;
  readonly code: PieceCode;
  readonly reason: string;
}
