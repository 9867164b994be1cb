/** Splits an ingest body (JSON object, JSON array, NDJSON, or text lines) into raw events. Pure. */
import type { RawEvent } from "./normalizers/index.ts";

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

/**
 * Splits a body. A body that parses as JSON is one object or an array of objects; otherwise each non-empty line
 * is one event: JSON when it starts with `{`, else a text line (syslog, CEF, LEEF).
 */
export function splitBody(body: string): Piece[] {
  const trimmed = body.trim();
  if (trimmed === "") return [{ ok: false, text: body, reason: "the body is empty" }];
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (Array.isArray(value)) {
        if (value.length === 0) return [{ ok: false, text: body, reason: "the body is an empty JSON array" }];
        return value.map((v, i) => fromJson(v, JSON.stringify(v), `element ${i}`));
      }
      return [fromJson(value, trimmed, "the body")];
    } catch (e) {
      if (!trimmed.includes("\n") || trimmed.startsWith("[")) {
        return [{ ok: false, text: body, reason: `the body is not valid JSON: ${(e as Error).message}` }];
      }
    }
  }
  const pieces: Piece[] = [];
  let lineNo = 0;
  for (const raw of body.split("\n")) {
    lineNo++;
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") continue;
    if (line.trimStart().startsWith("{")) {
      try {
        pieces.push(fromJson(JSON.parse(line), line, `line ${lineNo}`));
      } catch (e) {
        pieces.push({ ok: false, text: line, reason: `line ${lineNo} is not valid JSON: ${(e as Error).message}` });
      }
    } else {
      pieces.push({ ok: true, event: { kind: "text", value: line }, text: line });
    }
  }
  return pieces;
}
