/**
 * Ingest bodies built from segments: corpus events as NDJSON lines or pretty-printed, CEF/LEEF and corpus text
 * lines, broken and truncated JSON, runs of `{` lines, deep nesting, runs of spaces, bytes that are not UTF-8,
 * whole corpus files, and JSON arrays; joined by LF, CRLF, blank lines or nothing. A body made only of whole
 * objects and plain text lines carries the pieces it must split into (the oracle).
 */
import fc from "fast-check";
import { corpus } from "./corpus.ts";
import { foldString } from "./describe.ts";
import { nesting, size } from "./json.ts";
import { cefLineArb, editText, fieldTextArb, invalidUtf8Arb, leefLineArb, textEditArb } from "./text.ts";

export type Segment =
  | { readonly k: "object"; readonly sample: number; readonly indent: 0 | 2 | "\t" }
  | { readonly k: "line"; readonly text: string }
  | { readonly k: "broken"; readonly sample: number; readonly cut: number }
  | { readonly k: "braces"; readonly count: number; readonly unit: string }
  | { readonly k: "deep"; readonly shape: "array" | "object" | "mixed"; readonly depth: number; readonly wrap: boolean }
  | { readonly k: "spaces"; readonly count: number; readonly then: string }
  | { readonly k: "bytes"; readonly bytes: Buffer }
  | { readonly k: "concat"; readonly a: number; readonly b: number; readonly gap: string }
  | { readonly k: "document"; readonly doc: number; readonly cut: number | undefined }
  | { readonly k: "array"; readonly samples: readonly number[]; readonly cut: number | undefined };

/** What one piece of an oracle body must be: a JSON object equal to `json`, or a text event equal to `text`. */
export type Expected = { readonly json: string } | { readonly text: string };

export interface BodyInput {
  readonly segments: readonly Segment[];
  readonly separators: readonly string[];
  readonly bytes: Buffer;
  /** The pieces the body must split into, when it is made only of whole objects and plain text lines. */
  readonly expected: readonly Expected[] | undefined;
}

const SEPARATORS = ["\n", "\n", "\n", "\r\n", "\n\n", "", " ", "\n \n", "\u2028\n"];

/** A text line whose piece is predictable: one non-blank line that does not open JSON. */
function plainLine(s: string): boolean {
  const t = s.trim();
  return t !== "" && !/[\r\n]/.test(s) && t[0] !== "{" && t[0] !== "[" && Buffer.from(s).toString() === s;
}

export function segmentArb(): fc.Arbitrary<Segment> {
  const c = corpus();
  const sample = fc.nat({ max: c.json.length - 1 });
  const line = fc.oneof(
    fc.constantFrom(...c.lines.map((l) => l.text)),
    cefLineArb,
    leefLineArb,
    fieldTextArb,
    fc
      .tuple(fc.constantFrom(...c.lines.map((l) => l.text)), fc.array(textEditArb, { maxLength: 3 }))
      .map(([t, e]) => editText(t, e)),
  );
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        k: fc.constant("object" as const),
        sample,
        indent: fc.constantFrom<0 | 2 | "\t">(0, 0, 2, "\t"),
      }),
    },
    { weight: 6, arbitrary: fc.record({ k: fc.constant("line" as const), text: line }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("broken" as const), sample, cut: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("braces" as const),
        count: size(50, 5_000, 60_000),
        unit: fc.constantFrom("{\n", "{\r\n", " {\n", "{ \n", '{"a":\n', '{"a":"\\\n', "[\n", "{}\n", "}{\n", "{[\n"),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("deep" as const),
        shape: fc.constantFrom("array" as const, "object" as const, "mixed" as const),
        depth: size(100, 5_000, 200_000),
        wrap: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("spaces" as const),
        count: size(100, 20_000, 1_000_000),
        then: fc.constantFrom("", "x", "{", "CEF:0|a|b|c|d|e|f|k=v", "\n", "\t"),
      }),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("bytes" as const), bytes: invalidUtf8Arb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("concat" as const),
        a: sample,
        b: sample,
        gap: fc.constantFrom("", " ", "\t", ","),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("document" as const),
        doc: fc.nat({ max: c.documents.length - 1 }),
        cut: fc.option(fc.nat(), { nil: undefined }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("array" as const),
        samples: fc.array(sample, { maxLength: 5 }),
        cut: fc.option(fc.nat(), { nil: undefined }),
      }),
    },
  );
}

const cutAt = (s: string, n: number | undefined) => (n === undefined ? s : s.slice(0, n % (s.length + 1)));

/** The bytes of a segment, and its piece when it is predictable (undefined: it is not). */
function render(seg: Segment): { bytes: Buffer; expected: Expected | undefined } {
  const c = corpus();
  const text = (s: string, expected?: Expected) => ({ bytes: Buffer.from(s, "utf8"), expected });
  switch (seg.k) {
    case "object": {
      const s = c.json[seg.sample]!;
      const json = JSON.stringify(s.value);
      return text(seg.indent === 0 ? json : JSON.stringify(s.value, null, seg.indent), { json });
    }
    case "line":
      return text(seg.text, plainLine(seg.text) ? { text: seg.text } : undefined);
    case "broken": {
      const t = c.json[seg.sample]!.text;
      return text(t.slice(0, 1 + (seg.cut % Math.max(1, t.length - 1))));
    }
    case "braces":
      return text(seg.unit.repeat(seg.count));
    case "deep": {
      const n = nesting(seg.shape, seg.depth);
      return text(seg.wrap ? `{"event_type":"alert","x":${n}}` : n);
    }
    case "spaces":
      return text(" ".repeat(seg.count) + seg.then);
    case "bytes":
      return { bytes: seg.bytes, expected: undefined };
    case "concat":
      return text(`${c.json[seg.a]!.text}${seg.gap}${c.json[seg.b]!.text}`);
    case "document":
      return text(cutAt(c.documents[seg.doc]!.text, seg.cut));
    case "array":
      return text(cutAt(`[${seg.samples.map((i) => c.json[i]!.text).join(",")}]`, seg.cut));
  }
}

/** Builds a body from segments and the separators after each. */
export function buildBody(segments: readonly Segment[], separators: readonly string[]): BodyInput {
  const parts: Buffer[] = [];
  const expected: Expected[] = [];
  let predictable = segments.length > 0;
  segments.forEach((seg, i) => {
    const r = render(seg);
    const sep = separators[i % Math.max(1, separators.length)] ?? "\n";
    parts.push(r.bytes, Buffer.from(sep));
    if (r.expected === undefined) predictable = false;
    else expected.push(r.expected);
    // The oracle holds only for one event per line, with nothing but line breaks after it.
    if (!(i < segments.length - 1 ? /^(\r?\n)+$/ : /^(\r?\n)*$/).test(sep)) predictable = false;
  });
  return { segments, separators, bytes: Buffer.concat(parts), expected: predictable ? expected : undefined };
}

export function bodyArb(): fc.Arbitrary<BodyInput> {
  return fc
    .tuple(
      fc.array(segmentArb(), { minLength: 0, maxLength: 12 }),
      fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 4 }),
    )
    .map(([segments, separators]) => buildBody(segments, separators));
}

/** A short description of a body for reports. */
export function renderBody(b: BodyInput): string {
  const segs = b.segments.map((s) => {
    switch (s.k) {
      case "object":
        return `object(#${s.sample}${s.indent === 0 ? "" : ", pretty"})`;
      case "line":
        return `line(${foldString(s.text, 60)})`;
      case "braces":
        return `${JSON.stringify(s.unit)}×${s.count}`;
      case "deep":
        return `deep(${s.shape}, ${s.depth}${s.wrap ? ", in an object" : ""})`;
      case "spaces":
        return `spaces(${s.count}, then ${JSON.stringify(s.then)})`;
      case "bytes":
        return `bytes(${s.bytes.toString("hex")})`;
      case "document":
        return `document(#${s.doc} ${corpus().documents[s.doc]?.from ?? "?"}${s.cut === undefined ? "" : `, cut at ${s.cut}`})`;
      default:
        return JSON.stringify(s);
    }
  });
  return `${b.bytes.length} bytes: [${segs.join(", ")}] separated by ${JSON.stringify(b.separators)}${b.expected ? ` (oracle: ${b.expected.length} pieces)` : ""}\n  body: ${foldString(b.bytes.toString("utf8"), 400)}`;
}
