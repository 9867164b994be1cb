/**
 * Fuzz target for syslog framing: byte streams of octet-counted frames (right, wrong and absurd counts), LF/CRLF/NUL
 * terminated lines, noise and invalid UTF-8, pushed in random chunks. No throw; the same frames however the stream
 * is chunked; frames bounded by the maximum message size and, in all, by the input; UDP splitting alike; every
 * message normalizes to an outcome.
 */
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import {
  DEFAULT_MAX_LINE_BYTES,
  SyslogDeframer,
  splitDatagram,
  type Frame,
  type Framing,
} from "../../services/ingest/syslog-framing.ts";
import { corpus } from "./corpus.ts";
import { foldString } from "./describe.ts";
import { expect, noThrow, type Target } from "./harness.ts";
import { checkNormalize } from "./normalizers.ts";
import { cefLineArb, fieldTextArb, invalidUtf8Arb, leefLineArb, runArb } from "./text.ts";

type FrameSpec =
  | {
      readonly k: "counted";
      readonly payload: Buffer;
      readonly lie: number;
      readonly zero: boolean;
      readonly space: string;
    }
  | { readonly k: "line"; readonly payload: Buffer; readonly end: string }
  | { readonly k: "count"; readonly digits: string }
  | { readonly k: "noise"; readonly bytes: Buffer };

export interface SyslogInput {
  readonly framing: Framing | undefined;
  readonly maxLineBytes: number | undefined;
  readonly frames: readonly FrameSpec[];
  readonly stream: Buffer;
  readonly cuts: readonly number[];
}

function payloadArb(): fc.Arbitrary<Buffer> {
  const lines = corpus().lines.map((l) => l.text);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...lines).map((s) => Buffer.from(s)) },
    { weight: 3, arbitrary: fc.oneof(cefLineArb, leefLineArb).map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: fieldTextArb.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: runArb.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: invalidUtf8Arb },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)) },
  );
}

function frameArb(): fc.Arbitrary<FrameSpec> {
  const payload = payloadArb();
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("counted" as const),
        payload,
        lie: fc.oneof(
          { weight: 6, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) },
        ),
        zero: fc.boolean(),
        space: fc.constantFrom(" ", " ", " ", "", "  ", "\t", "\n"),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("line" as const),
        payload,
        end: fc.constantFrom("\n", "\r\n", "\0", "", "\r", "\n\n"),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("count" as const),
        digits: fc.constantFrom("999999999 ", "1234567890123 ", "0 ", "00 ", "1", "10", "5 abc", "-1 ", "99999999 x"),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("noise" as const),
        bytes: fc.oneof(
          invalidUtf8Arb,
          fc.constantFrom("\n", "\r\n", "\0\0", "\n\n\n", " ").map((s) => Buffer.from(s)),
        ),
      }),
    },
  );
}

function renderFrame(f: FrameSpec): Buffer {
  switch (f.k) {
    case "counted": {
      const n = Math.max(0, f.payload.length + f.lie);
      return Buffer.concat([Buffer.from(`${f.zero ? "0" : ""}${n}${f.space}`), f.payload]);
    }
    case "line":
      return Buffer.concat([f.payload, Buffer.from(f.end)]);
    case "count":
      return Buffer.from(f.digits);
    case "noise":
      return f.bytes;
  }
}

function chunks(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    if (c > from) out.push(stream.subarray(from, c));
    from = Math.max(from, c);
  }
  out.push(stream.subarray(from));
  return out;
}

function deframe(input: SyslogInput, parts: readonly Buffer[]): Frame[] {
  const d = noThrow(
    "new SyslogDeframer",
    () =>
      new SyslogDeframer({
        maxLineBytes: input.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
        ...(input.framing ? { framing: input.framing } : {}),
      }),
  );
  const out: Frame[] = [];
  for (const p of parts) out.push(...noThrow("SyslogDeframer.push", () => d.push(p)));
  out.push(...noThrow("SyslogDeframer.end", () => d.end()));
  return out;
}

function checkFrames(what: string, frames: readonly Frame[], input: SyslogInput, max: number): void {
  let total = 0;
  for (const f of frames) {
    expect(typeof f.ok === "boolean" && typeof f.text === "string", `${what}: malformed frame`);
    if (!f.ok) expect(typeof f.reason === "string" && f.reason !== "", `${what}: framing error without a reason`);
    expect(f.text.length <= max, () => `${what}: a frame of ${f.text.length} chars over the ${max}-byte line bound`);
    total += f.text.length;
  }
  expect(total <= input.stream.length, () => `${what}: ${total} chars of frames from ${input.stream.length} bytes`);
  expect(
    frames.length <= input.stream.length + 1,
    () => `${what}: ${frames.length} frames from ${input.stream.length} bytes`,
  );
}

const summary = (frames: readonly Frame[]) =>
  frames
    .map((f) => (f.ok ? foldString(f.text, 60) : `error(${foldString(f.text, 40)}: ${f.reason.slice(0, 80)})`))
    .join(" | ");

export const syslogFraming: Target<SyslogInput> = {
  name: "syslog",
  description: "SyslogDeframer (octet counting, LF/NUL framing, detection) and splitDatagram on random chunks",
  weight: 15,
  timeBoundMs: 2_000,
  arbitrary: () =>
    fc
      .record({
        framing: fc.constantFrom<Framing | undefined>(undefined, undefined, "octet-counting", "non-transparent"),
        maxLineBytes: fc.oneof(
          { weight: 3, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }) },
        ),
        frames: fc.array(frameArb(), { maxLength: 10 }),
        cuts: fc.array(fc.nat(), { maxLength: 16 }),
      })
      .map((r) => ({ ...r, stream: Buffer.concat(r.frames.map(renderFrame)) })),
  async open() {
    return {
      check(input) {
        const max = input.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
        const whole = deframe(input, [input.stream]);
        checkFrames("TCP", whole, input, max);
        const chunked = deframe(input, chunks(input.stream, input.cuts));
        expect(
          isDeepStrictEqual(whole, chunked),
          () => `chunking changed the frames:\n    one chunk: ${summary(whole)}\n    chunked:   ${summary(chunked)}`,
        );
        if (input.stream.length <= 2_048) {
          const bytewise = deframe(
            input,
            [...input.stream].map((b) => Buffer.from([b])),
          );
          expect(
            isDeepStrictEqual(whole, bytewise),
            () =>
              `byte-by-byte chunks changed the frames:\n    one chunk: ${summary(whole)}\n    bytewise:  ${summary(bytewise)}`,
          );
        }
        const datagram = noThrow("splitDatagram", () => splitDatagram(input.stream, max));
        checkFrames("UDP", datagram, input, max);
        for (const f of whole.slice(0, 50)) {
          if (f.ok) checkNormalize({ kind: "text", value: f.text }, f.text, { source: "syslog", format: undefined });
        }
      },
    };
  },
  render: (i) =>
    `framing ${i.framing ?? "detected"}, max ${i.maxLineBytes ?? "default"}, ${i.stream.length} bytes in chunks cut at ${JSON.stringify(i.cuts)}: ${foldString(i.stream.toString("latin1"), 500)}`,
};
