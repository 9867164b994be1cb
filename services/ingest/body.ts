/**
 * Splits an ingest body into raw events: a JSON object, a JSON array of objects, NDJSON, concatenated or
 * pretty-printed JSON objects, or text lines (syslog, CEF, LEEF). Pure.
 */
import { normalizeEvent, type NormalizeContext, type NormalizeOutcome, type RawEvent } from "./normalizers/index.ts";

/** One piece of a body: an event with its own text, or text that could not be read as an event. */
export type Piece =
  | { readonly ok: true; readonly event: RawEvent; readonly text: string }
  | { readonly ok: false; readonly text: string; readonly reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function fromJson(value: unknown, text: string, where: string): Piece {
  return isObject(value)
    ? { ok: true, event: { kind: "json", value }, text }
    : { ok: false, text, reason: `${where} is ${Array.isArray(value) ? "an array" : typeof value}, not a JSON object` };
}

/** How far a multi-line object may extend; keeps a body full of broken lines linear to split. */
const MAX_OBJECT_CHARS = 1024 * 1024;

/** Index just past the JSON object starting at `start`, or -1 when it is not closed within MAX_OBJECT_CHARS. */
function objectEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  const end = Math.min(s.length, start + MAX_OBJECT_CHARS);
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/**
 * Splits a body. A body that parses as JSON is one object or an array of objects. Otherwise it is read line by
 * line: a line starting with `{` is one JSON object (or the first line of a multi-line one), any other
 * non-empty line is a text event. A broken line becomes one failed piece; the lines after it are unaffected.
 */
export function splitBody(body: string): Piece[] {
  const trimmed = body.trim();
  if (trimmed === "") return [{ ok: false, text: body, reason: "the body is empty" }];
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const whole = tryParse(trimmed);
    if (whole.ok) {
      if (!Array.isArray(whole.value)) return [fromJson(whole.value, trimmed, "the body")];
      if (whole.value.length === 0) return [{ ok: false, text: body, reason: "the body is an empty JSON array" }];
      return whole.value.map((v, i) => fromJson(v, JSON.stringify(v), `element ${i}`));
    }
    if (trimmed.startsWith("[") || !/\n\s*\S/.test(trimmed)) {
      return [{ ok: false, text: body, reason: `the body is not valid JSON: ${whole.error}` }];
    }
  }
  const pieces: Piece[] = [];
  let pos = 0;
  let lineNo = 1;
  while (pos < body.length) {
    const nl = body.indexOf("\n", pos);
    const lineEnd = nl < 0 ? body.length : nl;
    const line = body.slice(pos, lineEnd).replace(/\r$/, "");
    let next = lineEnd + 1;
    if (line.trim() !== "") {
      if (line.trimStart().startsWith("{")) {
        const one = tryParse(line);
        if (one.ok) pieces.push(fromJson(one.value, line, `line ${lineNo}`));
        else {
          const start = pos + line.indexOf("{");
          const end = objectEnd(body, start);
          const multi = end > 0 ? tryParse(body.slice(start, end)) : undefined;
          if (multi?.ok) {
            pieces.push(fromJson(multi.value, body.slice(start, end), `the object at line ${lineNo}`));
            next = end;
          } else {
            pieces.push({ ok: false, text: line, reason: `line ${lineNo} is not valid JSON: ${one.error}` });
          }
        }
      } else {
        pieces.push({ ok: true, event: { kind: "text", value: line }, text: line });
      }
    }
    for (let i = pos; i < next && i < body.length; i++) if (body.charCodeAt(i) === 10) lineNo++;
    pos = next;
  }
  return pieces;
}

/** The outcome of one piece: a piece that could not be read as an event fails as RIPOSTE_BODY_INVALID. */
export function normalizePiece(piece: Piece, ctx: NormalizeContext): NormalizeOutcome | BodyInvalid {
  return piece.ok
    ? normalizeEvent(piece.event, piece.text, ctx)
    : { ok: false, code: "RIPOSTE_BODY_INVALID", reason: piece.reason };
}

export interface BodyInvalid {
  readonly ok: false;
  readonly code: "RIPOSTE_BODY_INVALID";
  readonly reason: string;
}
