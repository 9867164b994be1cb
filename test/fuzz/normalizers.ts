/**
 * Fuzz targets for the normalizers: corpus events mutated (fields deleted, retyped, replaced by huge or deep
 * values, prototype keys added) and hostile text lines (truncated corpus lines, generated CEF/LEEF), each through
 * `normalizeEvent` with auto-detection, with every format forced, and under format-named sources. The outcome
 * must always be `{ok: true, event}` or `{ok: false, code, reason}`: a throw is a crash.
 */
import fc from "fast-check";
import { NORMALIZERS, normalizeEvent, normalizerFor, type RawEvent } from "../../services/ingest/normalizers/index.ts";
import { corpus } from "./corpus.ts";
import { describeValue, foldString } from "./describe.ts";
import { expect, noThrow, type Target } from "./harness.ts";
import { mutate, mutationArb, type Mutation } from "./json.ts";
import { cefLineArb, editText, fieldTextArb, leefLineArb, textEditArb, type TextEdit } from "./text.ts";

const RECEIVED = 1_700_000_000_000;

/** Formats to force: every format and alias, unknown and prototype names, odd case. */
const FORMAT_NAMES = [
  ...NORMALIZERS.flatMap((n) => [n.format, ...(n.aliases ?? [])]),
  "SURICATA_EVE",
  "Cef",
  "unknown",
  "",
  " cef",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
];

/** Source names: generic, a format name (which forces the format), or prototype names. */
const SOURCES = ["fuzz", "syslog", ...NORMALIZERS.map((n) => n.format), "checkpoint", "__proto__", "constructor", ""];

export interface NormalizeCtx {
  readonly source: string;
  readonly format: string | undefined;
}

export const ctxArb: fc.Arbitrary<NormalizeCtx> = fc.record({
  source: fc.constantFrom(...SOURCES),
  format: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom(...FORMAT_NAMES) },
  ),
});

/** How many times its JSON-escaped input a normalized event may be. */
const AMPLIFICATION = 8;

/** Outcome codes normalizeEvent may give (its own, the splitter's, and the ones the hardening adds). */
const CODE = /^RIPOSTE_[A-Z_]+$/;

/**
 * Normalizes one event and checks the outcome's shape: a result, never a throw; a string code and reason when it
 * fails; an event that serializes, of the forced format, not much larger than its input, when it succeeds.
 */
export function checkNormalize(event: RawEvent, text: string, ctx: NormalizeCtx): void {
  const out = noThrow("normalizeEvent", () =>
    normalizeEvent(event, text, { source: ctx.source, format: ctx.format, receivedTime: RECEIVED }),
  );
  expect(
    out !== null && typeof out === "object" && typeof out.ok === "boolean",
    () => `outcome is ${describeValue(out)}`,
  );
  const slack = 64 * 1024 + (ctx.format?.length ?? 0) + ctx.source.length;
  if (!out.ok) {
    expect(typeof out.code === "string" && CODE.test(out.code), () => `outcome code is ${String(out.code)}`);
    expect(typeof out.reason === "string", "outcome reason is not a string");
    expect(
      out.reason.length <= 2 * text.length + slack,
      () => `reason of ${out.reason.length} chars for an input of ${text.length}`,
    );
    return;
  }
  expect(typeof out.format === "string", "normalized outcome without a format");
  const forced = ctx.format !== undefined ? normalizerFor(ctx.format) : normalizerFor(ctx.source);
  expect(
    forced === undefined || forced.format === out.format,
    () => `format ${forced?.format ?? "?"} was forced but the event was normalized as ${out.format}`,
  );
  // Fields copy parts of the input (raw_data, observables, evidences), each JSON-escaped: a constant factor of the
  // escaped input is expected, more is amplification.
  const json = noThrow("JSON.stringify(normalized event)", () => JSON.stringify(out.event));
  const escaped = JSON.stringify(text).length;
  expect(
    json.length <= AMPLIFICATION * escaped + slack,
    () => `normalized event of ${json.length} chars for an input of ${text.length} (${escaped} escaped)`,
  );
}

export interface JsonInput {
  readonly sample: number;
  readonly ops: readonly Mutation[];
  readonly ctx: NormalizeCtx;
  readonly from: string;
  readonly text: string;
}

/** Corpus events with mutations, parsed back from their JSON text. */
export function mutatedEventArb(): fc.Arbitrary<{ sample: number; ops: Mutation[]; from: string; text: string }> {
  const samples = corpus().json;
  return fc.tuple(fc.nat({ max: samples.length - 1 }), fc.array(mutationArb, { maxLength: 6 })).map(([sample, ops]) => {
    const s = samples[sample]!;
    return { sample, ops, from: s.from, text: mutate(s.value, ops) };
  });
}

export const normalizeJson: Target<JsonInput> = {
  name: "normalize-json",
  description: "corpus events mutated, through normalizeEvent (detected, forced, format-named sources)",
  weight: 30,
  timeBoundMs: 2_000,
  arbitrary: () => fc.tuple(mutatedEventArb(), ctxArb).map(([m, ctx]) => ({ ...m, ctx })),
  async open() {
    return {
      check(input) {
        const value: unknown = JSON.parse(input.text);
        expect(value !== null && typeof value === "object" && !Array.isArray(value), "mutated root is not an object");
        checkNormalize({ kind: "json", value: value as Record<string, unknown> }, input.text, input.ctx);
      },
    };
  },
  render: (i) =>
    `sample #${i.sample} of ${i.from}, ctx ${JSON.stringify(i.ctx)}, mutations ${JSON.stringify(i.ops, (_k, v: unknown) => (typeof v === "string" && v.length > 40 ? foldString(v, 40) : v))}\n  text: ${foldString(i.text, 400)}`,
};

export interface TextInput {
  readonly kind: "corpus" | "cef" | "leef" | "random";
  readonly base: string;
  readonly edits: readonly TextEdit[];
  readonly ctx: NormalizeCtx;
  readonly text: string;
}

/** Text lines: corpus lines (and corpus JSON events as text) edited, generated CEF and LEEF, random text. */
export function textLineArb(): fc.Arbitrary<Omit<TextInput, "ctx">> {
  const c = corpus();
  const bases: fc.Arbitrary<{ kind: TextInput["kind"]; base: string }> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(...c.lines.map((l) => l.text)).map((base) => ({ kind: "corpus" as const, base })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...c.json.map((j) => j.text)).map((base) => ({ kind: "corpus" as const, base })),
    },
    { weight: 4, arbitrary: cefLineArb.map((base) => ({ kind: "cef" as const, base })) },
    { weight: 3, arbitrary: leefLineArb.map((base) => ({ kind: "leef" as const, base })) },
    { weight: 1, arbitrary: fieldTextArb.map((base) => ({ kind: "random" as const, base })) },
  );
  return fc
    .tuple(bases, fc.array(textEditArb, { maxLength: 4 }))
    .map(([b, edits]) => ({ ...b, edits, text: editText(b.base, edits) }));
}

export const normalizeText: Target<TextInput> = {
  name: "normalize-text",
  description: "CEF/LEEF/syslog and corpus lines, generated and edited, through normalizeEvent as text events",
  weight: 20,
  timeBoundMs: 2_000,
  arbitrary: () => fc.tuple(textLineArb(), ctxArb).map(([t, ctx]) => ({ ...t, ctx })),
  async open() {
    return {
      check(input) {
        checkNormalize({ kind: "text", value: input.text }, input.text, input.ctx);
      },
    };
  },
  render: (i) => `${i.kind} line, ctx ${JSON.stringify(i.ctx)}, ${i.edits.length} edits: ${foldString(i.text, 600)}`,
};
