/**
 * Arbitraries for hostile text lines: CEF and LEEF records built field by field (escapes, trailing backslashes,
 * runs of spaces, odd delimiters and times), syslog headers in front of them, corpus lines truncated and edited,
 * and bytes that are not UTF-8.
 */
import fc from "fast-check";
import { size, TRICKY_STRINGS } from "./json.ts";

/** Snippets that CEF, LEEF and syslog parsers treat specially. */
export const SNIPPETS = [
  "\\",
  "\\\\",
  '"\\',
  "C:\\",
  "\\=",
  "\\|",
  "\\n",
  "\\r",
  "|",
  "=",
  "==",
  " ",
  "\t",
  "\\t",
  "\r",
  "\n",
  "\u0000",
  "\u00a0",
  "\ufeff",
  "\ud800",
  "\udfff",
  "\ufffd",
  '"',
  "'",
  "{",
  "}",
  "[",
  "]",
  "<",
  ">",
  ":",
  "^",
  "$src",
  "CEF:0|",
  "LEEF:2.0|",
  "LEEF:1.0|",
  "<134>",
  "<14>1 ",
  " k=v",
  " cs1Label=",
  " rt=",
  "\tdevTime=",
] as const;

/** A repeated run: `unit` × `count` (shrinks by count). */
export const runArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(" ", "\\", "=", "|", "a", "\t", " =", "\\=", "a=", "k=v ", "\u00a0", "{", "😀", "x\\"),
    size(64, 20_000, 300_000),
  )
  .map(([unit, count]) => unit.repeat(count));

/** Text, a long run of blanks, text: what backtracking trailing-whitespace patterns take quadratic time on. */
export const paddedArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ maxLength: 4 }),
    fc.constantFrom(" ", "\t", " \t", "\u00a0", "\r", "\u2003"),
    size(64, 20_000, 200_000),
    fc.string({ minLength: 1, maxLength: 4 }).filter((t) => t.trim() !== ""),
  )
  .map(([a, unit, count, b]) => `${a}${unit.repeat(count)}${b}`);

/** A piece of text for a field: plain, tricky, a snippet, or a run. */
export const fieldTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_STRINGS) },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 6 })
      .map((a) => a.join("")),
  },
  { weight: 1, arbitrary: runArb },
  { weight: 1, arbitrary: paddedArb },
);

const CEF_KEYS = [
  "rt",
  "start",
  "end",
  "dtz",
  "src",
  "dst",
  "spt",
  "dpt",
  "suser",
  "duser",
  "shost",
  "dhost",
  "dvchost",
  "dvc",
  "act",
  "msg",
  "cat",
  "request",
  "fname",
  "proto",
  "outcome",
  "cs1",
  "cs1Label",
  "cn1",
  "cn1Label",
  "deviceCustomString2",
  "deviceCustomString2Label",
  "deviceCustomDate1",
  "flexString1",
  "sourceAddress",
  "destinationPort",
  "cp_severity",
  "protection_name",
  "malware_family",
  "__proto__",
  "constructor",
  "toString",
];

const TIMES = [
  "Feb 27 2021 20:16:21",
  "Feb 27 2021 20:16:21.123 UTC",
  "Feb 27 2021 20:16:21 Europe/Berlin",
  "Feb 27 2021 20:16:21 Not/AZone",
  "Feb 30 2021 25:61:61",
  "Xyz 99 9999 99:99:99",
  "Feb 27 20:16:21",
  "1614456981000",
  "1614456981",
  "99999999999999999999",
  "-1",
  "2021-02-27T20:16:21Z",
  "2021-02-27T20:16:21+99:99",
  "",
];

const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CEF_KEYS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.[\]-]{1,12}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

const valueArb = fc.oneof(
  { weight: 5, arbitrary: fieldTextArb },
  { weight: 2, arbitrary: fc.constantFrom(...TIMES) },
  { weight: 1, arbitrary: paddedArb },
);

/** A syslog header before a CEF/LEEF payload: none, RFC 3164, RFC 5424, stacked relays, or broken ones. */
export const syslogHeaderArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: fc.constant("<134>Mar  1 20:46:50 fw01 app[123]: ") },
  { weight: 2, arbitrary: fc.constant("<14>1 2021-03-01T20:46:50.869Z host app - - - ") },
  {
    weight: 1,
    arbitrary: fc.constant(
      "Mar 1 20:46:50 198.51.100.0 2206 4581 <14>1 2021-03-01T20:46:50.869Z logfwd20 logforwarder - panwlogs - ",
    ),
  },
  { weight: 1, arbitrary: fc.constant('<999>1 - - - - - [x="y"] ') },
  { weight: 1, arbitrary: fc.constant('<14>1 2021-13-45T99:99:99Z h a p m [a b="c"][d e="]"] ') },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom("<14>1 ", "<134>", "Mar  1 20:46:50 ", "[", "]", " - ", "\\"), fieldTextArb), {
        maxLength: 6,
      })
      .map((a) => `${a.join("")} `),
  },
);

/** A CEF record: `CEF:v|vendor|product|version|class|name|severity|k=v ...`, with every part fuzzed. */
export const cefLineArb: fc.Arbitrary<string> = fc
  .record({
    header: syslogHeaderArb,
    version: fc.constantFrom("0", "1", "99999999999", "", "0.1"),
    fields: fc.array(fieldTextArb, { minLength: 0, maxLength: 8 }),
    severity: fc.oneof(fc.constantFrom("0", "10", "11", "-1", "High", "Very-High", "Unknown", " 5 ", ""), fieldTextArb),
    pairs: fc.array(fc.tuple(keyArb, valueArb), { maxLength: 12 }),
    sep: fc.constantFrom(" ", "  ", "\t", " \\ ", ""),
    tail: fc.constantFrom("", " ", "\\", "   ", "\\\\", " =", "="),
  })
  .map(({ header, version, fields, severity, pairs, sep, tail }) => {
    const head = [...fields.slice(0, 5), ...Array.from({ length: Math.max(0, 5 - fields.length) }, () => "x")];
    const shortHeader = fields.length > 5 ? head : head.slice(0, fields.length + 1);
    const ext = pairs.map(([k, v]) => `${k}=${v}`).join(sep);
    return `${header}CEF:${version}|${shortHeader.join("|")}|${severity}|${ext}${tail}`;
  });

const LEEF_KEYS = [
  "devTime",
  "devTimeFormat",
  "devTimeZone",
  "tz",
  "src",
  "dst",
  "srcPort",
  "dstPort",
  "sev",
  "severity",
  "cat",
  "usrName",
  "identHostName",
  "identSrc",
  "srcZone",
  "dstZone",
  "domain",
  "proto",
  "msg",
  "__proto__",
  "constructor",
];

/** A LEEF 1.0/2.0 record with a fuzzed delimiter field and attributes. */
export const leefLineArb: fc.Arbitrary<string> = fc
  .record({
    header: syslogHeaderArb,
    version: fc.constantFrom("1.0", "2.0", "2", "1", "3.0", "2.0.1"),
    fields: fc.array(fieldTextArb, { minLength: 0, maxLength: 5 }),
    delimiter: fc.option(fc.constantFrom("^", "x09", "0x09", "0x7c", "\\t", "", "xZZ", "0x", "=", "x5e", "0x0", "ab"), {
      nil: undefined,
    }),
    pairs: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...LEEF_KEYS), keyArb), valueArb), { maxLength: 12 }),
    sep: fc.constantFrom("\t", "^", "\\t", "|", " ", "\t\t"),
    tail: fc.constantFrom("", " ", "\t", "\\", "   ", "="),
  })
  .map(({ header, version, fields, delimiter, pairs, sep, tail }) => {
    const head = fields.length >= 4 ? fields.slice(0, 4) : fields;
    const attrs = pairs.map(([k, v]) => `${k}=${v}`).join(sep);
    const d = delimiter === undefined ? "" : `${delimiter}|`;
    return `${header}LEEF:${version}|${head.join("|")}|${d}${attrs}${tail}`;
  });

/** One edit of a text: `at` is taken modulo the text's length when it applies. */
export type TextEdit =
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly text: string }
  | { readonly kind: "delete"; readonly at: number; readonly length: number }
  | { readonly kind: "repeat"; readonly at: number; readonly length: number; readonly times: number };

export const textEditArb: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fieldTextArb }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant("repeat" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 16 }),
    times: size(8, 2_000, 50_000),
  }),
);

/** Applies the edits in order. */
export function editText(text: string, edits: readonly TextEdit[]): string {
  let s = text;
  for (const e of edits) {
    const at = s.length === 0 ? 0 : e.at % (s.length + 1);
    switch (e.kind) {
      case "truncate":
        s = s.slice(0, at);
        break;
      case "insert":
        s = s.slice(0, at) + e.text + s.slice(at);
        break;
      case "delete":
        s = s.slice(0, at) + s.slice(at + e.length);
        break;
      case "repeat":
        s = s.slice(0, at) + s.slice(at, at + e.length).repeat(e.times) + s.slice(at);
        break;
    }
  }
  return s;
}

/** Byte sequences that are not valid UTF-8: stray continuation bytes, overlongs, surrogates, truncated sequences. */
export const INVALID_UTF8: readonly Buffer[] = [
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc3],
  [0xef, 0xbb, 0xbf],
  [0x00],
].map((b) => Buffer.from(b));

export const invalidUtf8Arb: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.constantFrom(...INVALID_UTF8),
      fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u)),
    ),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((parts) => Buffer.concat(parts));
