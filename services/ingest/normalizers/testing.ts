/** Test helpers for normalizers: the shared corpus, and one-normalizer runs. Used by tests only. */
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { finalize } from "./finalize.ts";
import type { Normalizer, RawEvent } from "./types.ts";
import { isRejection } from "./types.ts";

/** ../shared/corpus beside the repository. */
export const CORPUS = fileURLToPath(new URL("../../../../shared/corpus/", import.meta.url));

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

/** Runs one normalizer and finalize; throws with the reason when the event is rejected or invalid. */
export function normalizeWith(n: Normalizer, event: RawEvent, source = "test"): NormalizedEvent {
  const draft = n.normalize(event);
  if (isRejection(draft)) throw new Error(`rejected: ${draft.reason}`);
  const text = event.kind === "json" ? JSON.stringify(event.value) : event.value;
  const out = finalize(draft, event, text, { source, format: n.format, receivedTime: 1_700_000_000_000 });
  if (!out.ok) throw new Error(out.reason);
  return out.event;
}

export const json = (value: Record<string, unknown>): RawEvent => ({ kind: "json", value });
export const text = (value: string): RawEvent => ({ kind: "text", value });
