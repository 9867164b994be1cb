/**
 * Fuzz target for the body splitter: `splitBody` on hostile bodies (decoded from bytes as the API does), then
 * `normalizePiece` on what it split. No throw (a coded refusal of the whole body is an answer), at least one piece,
 * pieces no larger than the body, and the exact pieces for bodies made of whole objects and plain lines.
 */
import { isDeepStrictEqual } from "node:util";
import { normalizePiece, splitBody, splitBodyAsync, type Piece } from "../../services/ingest/body.ts";
import { isRiposteError } from "../../services/shared/errors.ts";
import { bodyArb, renderBody, type BodyInput, type Expected } from "./bodies.ts";
import { describeValue, foldString } from "./describe.ts";
import { expect, FuzzFailure, noThrow, type Target } from "./harness.ts";

/** Codes with which the splitter may refuse a whole body. */
export const BODY_REFUSALS: ReadonlySet<string> = new Set([
  "RIPOSTE_TOO_MANY_EVENTS",
  "RIPOSTE_LINE_TOO_LONG",
  "RIPOSTE_BODY_TOO_LARGE",
  "RIPOSTE_NESTING_TOO_DEEP",
]);

/** Pieces normalized per body, at most (evenly spread), to keep a 50,000-line body within the time bound. */
const MAX_NORMALIZED = 2_000;

/** Bodies up to this size are also split by splitBodyAsync (what the API uses), which must agree. */
const ASYNC_COMPARE_CHARS = 256 * 1024;

/** splitBody, or undefined when it refused the whole body with a coded error. */
export function split(text: string): Piece[] | undefined {
  try {
    return splitBody(text);
  } catch (e) {
    if (isRiposteError(e) && BODY_REFUSALS.has(e.code)) return undefined;
    throw new FuzzFailure("crash", `splitBody threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, {
      cause: e,
    });
  }
}

function checkPiece(p: Piece, i: number): void {
  expect(p !== null && typeof p === "object" && typeof p.ok === "boolean", () => `piece ${i} is ${describeValue(p)}`);
  expect(typeof p.text === "string", () => `piece ${i} has no text`);
  if (!p.ok) {
    expect(typeof p.reason === "string" && p.reason !== "", () => `failed piece ${i} has no reason`);
    return;
  }
  if (p.event.kind === "json") {
    const v = p.event.value;
    expect(
      v !== null && typeof v === "object" && !Array.isArray(v),
      () => `piece ${i} is a JSON event but not an object`,
    );
  } else expect(p.event.kind === "text" && typeof p.event.value === "string", () => `piece ${i} has a bad event`);
}

function matches(p: Piece, e: Expected): boolean {
  if (!p.ok) return false;
  if ("json" in e) return p.event.kind === "json" && isDeepStrictEqual(p.event.value, JSON.parse(e.json));
  return p.event.kind === "text" && p.event.value === e.text;
}

/** Where a piece differs from what the oracle expected. */
function mismatch(p: Piece, e: Expected, i: number): string {
  const want = "json" in e ? e.json : e.text;
  const got = !p.ok
    ? `a failed piece (${p.reason})`
    : p.event.kind === "json"
      ? JSON.stringify(p.event.value)
      : p.event.value;
  let at = 0;
  while (at < want.length && want[at] === got[at]) at++;
  const around = (s: string) => foldString(s.slice(Math.max(0, at - 40), at + 80), 160);
  return `piece ${i} differs from the ${"json" in e ? "object" : "text line"} expected at char ${at}: got ${around(got)} (${got.length} chars), expected ${around(want)} (${want.length} chars)`;
}

export const splitter: Target<BodyInput> = {
  name: "body",
  description:
    "splitBody + normalizePiece on NDJSON/concatenated/text mixes, broken lines, `{` runs, deep nesting, invalid UTF-8",
  weight: 20,
  timeBoundMs: 2_000,
  arbitrary: bodyArb,
  async open() {
    return {
      async check(input) {
        const text = input.bytes.toString("utf8");
        const pieces = split(text);
        if (pieces === undefined) return;
        expect(Array.isArray(pieces) && pieces.length >= 1, () => `splitBody gave ${pieces.length} pieces`);
        let total = 0;
        pieces.forEach((p, i) => {
          checkPiece(p, i);
          total += p.text.length;
        });
        expect(total <= text.length, () => `pieces hold ${total} chars of a ${text.length}-char body`);
        const expected = input.expected;
        if (expected !== undefined) {
          expect(
            pieces.length === expected.length,
            () =>
              `${pieces.length} pieces, expected ${expected.length}: ${pieces.map((p) => (p.ok ? p.event.kind : `failed(${p.reason})`)).join(", ")}`,
          );
          pieces.forEach((p, i) => expect(matches(p, expected[i]!), () => mismatch(p, expected[i]!, i)));
        }
        if (text.length <= ASYNC_COMPARE_CHARS) {
          const pieces2 = await splitBodyAsync(text);
          expect(isDeepStrictEqual(pieces, pieces2), "splitBodyAsync and splitBody split the body differently");
        }
        const step = Math.max(1, Math.ceil(pieces.length / MAX_NORMALIZED));
        for (let i = 0; i < pieces.length; i += step) {
          const out = noThrow(`normalizePiece(piece ${i})`, () =>
            normalizePiece(pieces[i]!, { source: "fuzz", receivedTime: 1_700_000_000_000 }),
          );
          expect(
            out.ok || (typeof out.code === "string" && typeof out.reason === "string"),
            () => `piece ${i}: outcome without code/reason`,
          );
        }
      },
    };
  },
  render: renderBody,
};
