/**
 * Test and bench helpers for the rule engine: the corpus's normalized events, and generated rule sets that look
 * like a detection team's (per-format rules on class, severity and vendor fields, some cross-format ones), built
 * from the fields and values the events carry. Deterministic for a seed. Used by tests and the bench only.
 */
import { existsSync } from "node:fs";
import { RuleFile, type ConditionShape, type NormalizedEvent } from "../../schemas/index.ts";
import { normalizeEvent, type RawEvent } from "../ingest/normalizers/index.ts";
import { CORPUS, corpusEvents, corpusLines, corpusSampleFiles } from "../ingest/normalizers/testing.ts";
import type { LoadedRule } from "./ruleset.ts";

/**
 * Every corpus event that normalizes (JSON documents and NDJSON with Panther wrappers unwrapped, other files as
 * text lines), in file order; undefined when ../shared/corpus is not there.
 */
export function corpusNormalized(receivedTime = Date.UTC(2026, 0, 1)): NormalizedEvent[] | undefined {
  if (!existsSync(CORPUS)) return undefined;
  const out: NormalizedEvent[] = [];
  for (const relative of corpusSampleFiles()) {
    let raws: { event: RawEvent; text: string }[];
    try {
      raws = corpusEvents(relative).map((value) => ({ event: { kind: "json", value }, text: JSON.stringify(value) }));
    } catch {
      raws = corpusLines(relative).map((value) => ({ event: { kind: "text", value }, text: value }));
    }
    for (const { event, text } of raws) {
      try {
        const r = normalizeEvent(event, text, { source: "corpus", receivedTime });
        if (r.ok) out.push(r.event);
      } catch {
        // A piece a normalizer cannot read is a DLQ case elsewhere; here it is simply not an event.
      }
    }
  }
  return out;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FieldValues {
  readonly fact: string;
  readonly path: string | undefined;
  readonly strings: string[];
  readonly numbers: number[];
}

const SKIP = new Set(["raw_data", "unmapped", "time", "riposte"]);
const IP = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Scalar fields (up to three levels deep) of a format's events, with the values seen. */
function fieldsOf(events: readonly NormalizedEvent[]): FieldValues[] {
  const byKey = new Map<string, FieldValues>();
  const visit = (fact: string, parts: string[], v: unknown, depth: number) => {
    if (Array.isArray(v)) {
      if (v.length > 0) visit(fact, [...parts, "0"], v[0], depth + 1);
      return;
    }
    if (v !== null && typeof v === "object") {
      if (depth >= 3) return;
      for (const [k, x] of Object.entries(v)) if (/^[\w-]+$/.test(k)) visit(fact, [...parts, k], x, depth + 1);
      return;
    }
    if (typeof v !== "string" && typeof v !== "number") return;
    if (typeof v === "string" && (v.length === 0 || v.length > 120)) return;
    const path = parts.length > 0 ? `$.${parts.join(".")}` : undefined;
    const key = `${fact}${path ?? ""}`;
    const f = byKey.get(key) ?? { fact, path, strings: [], numbers: [] };
    if (typeof v === "string" && !f.strings.includes(v)) f.strings.push(v);
    if (typeof v === "number" && !f.numbers.includes(v)) f.numbers.push(v);
    byKey.set(key, f);
  };
  for (const e of events)
    for (const [k, v] of Object.entries(e)) if (!SKIP.has(k) && /^[A-Za-z_]\w*$/.test(k)) visit(k, [], v, 0);
  return [...byKey.values()].sort((a, b) => (`${a.fact}${a.path}` < `${b.fact}${b.path}` ? -1 : 1));
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * `n` rules over the events' formats: about nine in ten name one or two formats (`riposte.format`), most an event
 * type of that format (type_uid, activity, event code, title: equal or in), some a class and a severity floor, and
 * up to three predicates on that format's fields (equal, in, containsi, startsWith, endsWith, regex, wildcard,
 * exists, notEqual, cidr, numeric), some an `any`, some a `not inList`; the rest are cross-format (Detection
 * Findings above a severity, by title). Values are mostly taken from the events, so a share of the rules match.
 */
export function generateRules(events: readonly NormalizedEvent[], n: number, seed = 1): LoadedRule[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const byFormat = new Map<string, NormalizedEvent[]>();
  for (const e of events) byFormat.set(e.riposte.format, [...(byFormat.get(e.riposte.format) ?? []), e]);
  const formats = [...byFormat.keys()].sort();
  const fields = new Map(formats.map((f) => [f, fieldsOf(byFormat.get(f) ?? [])]));
  const classes = new Map(formats.map((f) => [f, [...new Set((byFormat.get(f) ?? []).map((e) => e.class_uid))]]));

  const predicate = (f: FieldValues): ConditionShape => {
    const base = { fact: f.fact, ...(f.path ? { path: f.path } : {}) };
    const s = f.strings.length > 0 ? pick(f.strings) : undefined;
    const miss = rnd() < 0.35;
    if (s === undefined) {
      const v = f.numbers.length > 0 ? pick(f.numbers) : 0;
      return pick([
        { ...base, operator: "equal", value: miss ? v + 1 : v },
        { ...base, operator: "greaterThanInclusive", value: miss ? v + 1 : v },
        { ...base, operator: "lessThan", value: v + 1 },
        { ...base, operator: "in", value: [v, v + 7, v + 13] },
      ]);
    }
    const part = s.slice(Math.floor(s.length / 3), Math.max(Math.floor(s.length / 3) + 3, Math.floor(s.length / 2)));
    const word = miss ? `${part}zq` : part;
    if (IP.test(s) && rnd() < 0.5) {
      return {
        ...base,
        operator: "cidr",
        value: miss ? ["198.18.0.0/15"] : [`${s.split(".")[0]}.0.0.0/8`, "192.168.0.0/16"],
      };
    }
    return pick([
      { ...base, operator: "equal", value: miss ? `${s}-x` : s },
      { ...base, operator: "in", value: [...f.strings.slice(0, 3), `${s}-x`] },
      { ...base, operator: "containsi", value: word.toUpperCase() },
      { ...base, operator: "startsWith", value: miss ? `zq${s.slice(0, 4)}` : s.slice(0, 4) },
      { ...base, operator: "endsWith", value: miss ? `${s.slice(-4)}zq` : s.slice(-4) },
      { ...base, operator: "regex", value: `${escapeRegex(word)}(\\W|$)` },
      { ...base, operator: "wildcard", value: [`*${word}*`, `${s.slice(0, 2)}?${s.slice(3, 6)}*`] },
      { ...base, operator: "exists", value: !miss },
      { ...base, operator: "notEqual", value: s },
    ]);
  };

  // The fields that tell a format's events apart (what detection content keys on: event type, code, title).
  const DISCRIMINATING = [
    "type_uid",
    "activity_id",
    "status_id",
    "metadata$.event_code",
    "finding_info$.title",
    "finding_info$.analytic.uid",
    "finding_info$.analytic.name",
  ];
  const discriminators = new Map(
    formats.map((f) => {
      const own = fields.get(f) ?? [];
      const known = own.filter((x) => DISCRIMINATING.includes(`${x.fact}${x.path ?? ""}`));
      const varied = (xs: FieldValues[]) => xs.filter((x) => x.strings.length + x.numbers.length >= 2);
      return [f, varied(known).length > 0 ? varied(known) : varied(own)];
    }),
  );
  const discriminator = (f: FieldValues): ConditionShape => {
    const base = { fact: f.fact, ...(f.path ? { path: f.path } : {}) };
    const values: (string | number)[] = [...f.strings, ...f.numbers];
    if (rnd() < 0.8) return { ...base, operator: "equal", value: pick(values) };
    return { ...base, operator: "in", value: [pick(values), pick(values), pick(values)] };
  };

  const rules: LoadedRule[] = [];
  for (let i = 0; i < n; i++) {
    const all: ConditionShape[] = [];
    if (rnd() < 0.9) {
      const format = pick(formats);
      const r = rnd();
      if (r < 0.6) all.push({ fact: "riposte", path: "$.format", operator: "equal", value: format });
      else if (r < 0.85)
        all.push({ fact: "riposte", path: "$.format", operator: "in", value: [format, pick(formats)] });
      else all.push({ fact: "event", path: "$.riposte.format", operator: "equal", value: format });
      if (rnd() < 0.4) all.push({ fact: "class_uid", operator: "equal", value: pick(classes.get(format) ?? [2004]) });
      const disc = discriminators.get(format) ?? [];
      // Content for a format mostly keys on one field (Okta's eventType, a Windows EventID), sometimes another.
      if (disc.length > 0 && rnd() < 0.75) all.push(discriminator(rnd() < 0.7 ? (disc[0] as FieldValues) : pick(disc)));
      if (rnd() < 0.4)
        all.push({ fact: "severity_id", operator: "greaterThanInclusive", value: 1 + Math.floor(rnd() * 4) });
      const own = fields.get(format) ?? [];
      if (own.length > 0) {
        const k = Math.floor(rnd() * 3);
        for (let j = 0; j < k; j++) all.push(predicate(pick(own)));
        if (rnd() < 0.1) all.push({ any: [predicate(pick(own)), predicate(pick(own))] });
      }
    } else {
      if (rnd() < 0.7) all.push({ fact: "class_uid", operator: "equal", value: 2004 });
      all.push({ fact: "severity_id", operator: "greaterThanInclusive", value: 4 + Math.floor(rnd() * 2) });
      all.push({
        fact: "finding_info",
        path: "$.title",
        operator: pick(["containsi", "regex"]),
        value: pick(["malware", "brute", "phish", "suspicious", "ransom", "sign-in", "admin"]),
      });
    }
    if (rnd() < 0.25)
      all.push({ not: { fact: "device", path: "$.hostname", operator: "inList", value: "never-isolate" } });
    rules.push({
      rule: RuleFile.parse({
        id: `gen-${String(i).padStart(4, "0")}`,
        version: 1,
        name: `generated rule ${i}`,
        priority: 1 + Math.floor(rnd() * 100),
        match: { all },
      }),
      hash: `generated:${seed}:${i}`,
      file: "generated",
    });
  }
  return rules;
}
