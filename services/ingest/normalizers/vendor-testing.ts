/** Test helpers for the vendor-alert normalizers: Panther test names, concatenated JSON, one-event outcomes. Tests only. */
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { corpusLines } from "./testing.ts";
import { finalize } from "./finalize.ts";
import type { Normalizer, RawEvent } from "./types.ts";
import { isRejection } from "./types.ts";

export interface PantherRecord {
  /** Panther's unit-test name, e.g. "High Risk During Sign-In". */
  readonly name: string;
  readonly rule: string;
  /** The vendor event. */
  readonly log: Record<string, unknown>;
}

/** The records of a Panther JSONL corpus file, with their test names (corpusEvents drops them). */
export function pantherRecords(relative: string): PantherRecord[] {
  return corpusLines(relative).map((line) => {
    const o = JSON.parse(line) as { test_name?: unknown; rule_id?: unknown; log?: unknown };
    return { name: String(o.test_name), rule: String(o.rule_id), log: o.log as Record<string, unknown> };
  });
}

/** The one record with this test name (and rule, when names repeat); throws when absent or ambiguous. */
export function pantherRecord(records: readonly PantherRecord[], name: string, rule?: string): Record<string, unknown> {
  const found = records.filter((r) => r.name === name && (rule === undefined || r.rule === rule));
  if (found.length !== 1)
    throw new Error(`${found.length} Panther records named "${name}"${rule ? ` for ${rule}` : ""}`);
  return (found[0] as PantherRecord).log;
}

/** Top-level JSON objects of a text holding several pretty-printed documents one after another. */
export function jsonObjects(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" && depth++ === 0) start = i;
    else if (c === "}" && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>);
  }
  return out;
}

export type Outcome =
  | { readonly kind: "ok"; readonly event: NormalizedEvent }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "error"; readonly message: string };

/** Runs one normalizer and finalize on one event, reporting normalized / rejected / error. */
export function outcomeOf(n: Normalizer, event: RawEvent): Outcome {
  let draft;
  try {
    draft = n.normalize(event);
  } catch (e) {
    return { kind: "error", message: e instanceof Error ? e.message : String(e) };
  }
  if (isRejection(draft)) return { kind: "rejected", reason: draft.reason };
  const text = event.kind === "json" ? JSON.stringify(event.value) : event.value;
  const out = finalize(draft, event, text, { source: "test", format: n.format, receivedTime: 1_700_000_000_000 });
  return out.ok ? { kind: "ok", event: out.event } : { kind: "error", message: out.reason };
}
