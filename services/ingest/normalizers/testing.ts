/**
 * Test helpers for normalizers: the shared corpus (files, events, Panther records, other vendors' events) and
 * one-normalizer runs. Used by tests only.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { finalize, type FinalizeResult } from "./finalize.ts";
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { isRejection } from "./types.ts";

/** ../shared/corpus beside the repository. */
export const CORPUS = fileURLToPath(new URL("../../../../shared/corpus/", import.meta.url));

/**
 * The corpus's sample files (`dir/file`, relative to CORPUS) in a stable order: every folder's files but READMEs,
 * SOURCES.md and the `*-expected` output oracles.
 */
export function corpusSampleFiles(): string[] {
  const dirs = readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return dirs.flatMap((dir) =>
    readdirSync(join(CORPUS, dir))
      .sort()
      .filter((f) => !f.endsWith(".md") && !f.includes("expected") && statSync(join(CORPUS, dir, f)).isFile())
      .map((f) => join(dir, f)),
  );
}

/** Reads a corpus file; fails with a clear message when ../shared is not there. */
export function corpusText(relative: string): string {
  const path = join(CORPUS, relative);
  if (!existsSync(path))
    throw new Error(`corpus file ${path} not found: the tests expect ../shared/corpus beside the repository`);
  return readFileSync(path, "utf8");
}

/** JSON objects of a corpus file: NDJSON lines, or one JSON document (object or array). Panther's `log` wrapper is unwrapped. */
export function corpusEvents(relative: string): Array<Record<string, unknown>> {
  const text = corpusText(relative).trim();
  let values: unknown[];
  try {
    const doc: unknown = JSON.parse(text);
    values = Array.isArray(doc) ? doc : [doc];
  } catch {
    values = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as unknown);
  }
  return values.map((v) => {
    const o = v as Record<string, unknown>;
    return "panther_log_type" in o && o["log"] && typeof o["log"] === "object"
      ? (o["log"] as Record<string, unknown>)
      : o;
  });
}

/** Text lines of a corpus file (syslog, CEF, LEEF). */
export function corpusLines(relative: string): string[] {
  return corpusText(relative)
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.trim() !== "");
}

/** Every JSON event of the corpus outside the given folders (text-only files are skipped). */
export function otherVendors(...mine: string[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const dir of readdirSync(CORPUS, { withFileTypes: true })) {
    if (!dir.isDirectory() || mine.includes(dir.name)) continue;
    for (const f of readdirSync(`${CORPUS}${dir.name}`)) {
      if (/\.(md|txt)$/.test(f) || !f.includes(".")) continue;
      try {
        out.push(...corpusEvents(`${dir.name}/${f}`));
      } catch {
        // not JSON (CEF, LEEF, syslog lines)
      }
    }
  }
  assert.ok(out.length > 200);
  return out;
}

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

/** Finalizes a normalizer's draft as the pipeline would, at a fixed received time. */
function finalizeDraft(n: Normalizer, draft: Draft, event: RawEvent, source: string): FinalizeResult {
  const text = event.kind === "json" ? JSON.stringify(event.value) : event.value;
  return finalize(draft, event, text, { source, format: n.format, receivedTime: 1_700_000_000_000 });
}

/** Runs one normalizer and finalize; throws with the reason when the event is rejected or invalid. */
export function normalizeWith(n: Normalizer, event: RawEvent, source = "test"): NormalizedEvent {
  const draft = n.normalize(event);
  if (isRejection(draft)) throw new Error(`rejected: ${draft.reason}`);
  const out = finalizeDraft(n, draft, event, source);
  if (!out.ok) throw new Error(out.reason);
  return out.event;
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
  const out = finalizeDraft(n, draft, event, "test");
  return out.ok ? { kind: "ok", event: out.event } : { kind: "error", message: out.reason };
}

export const json = (value: Record<string, unknown>): RawEvent => ({ kind: "json", value });
export const text = (value: string): RawEvent => ({ kind: "text", value });
