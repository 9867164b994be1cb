/**
 * The fuzz suite's seed material: every JSON event and every text line of the shared third-party corpus
 * (../shared/corpus beside the repository, read by tests only) and of Riposte's own demo alerts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** ../shared/corpus beside the repository (FUZZ_CORPUS overrides). */
export const CORPUS_DIR =
  process.env["FUZZ_CORPUS"] ?? fileURLToPath(new URL("../../../shared/corpus/", import.meta.url));
const DEMO_DIR = fileURLToPath(new URL("../../services/demo/alerts/", import.meta.url));

/** One JSON event with the file it came from (for counterexample reports). */
export interface JsonSample {
  readonly from: string;
  readonly value: Record<string, unknown>;
  /** The event as one NDJSON line. */
  readonly text: string;
}

/** One text line (CEF, LEEF, syslog, Splunk `_raw`) with the file it came from. */
export interface TextSample {
  readonly from: string;
  readonly text: string;
}

export interface Corpus {
  readonly json: readonly JsonSample[];
  readonly lines: readonly TextSample[];
  /** Whole event files as written (NDJSON, pretty-printed concatenated JSON, text lines): bodies to mutate. */
  readonly documents: readonly TextSample[];
}

/** Embedded lines kept per file, so one file of multi-line Windows messages does not drown the CEF lines. */
const MAX_LINES_PER_FILE = 20;
/** Documents longer than this are not kept whole (they are still split into events and lines). */
const MAX_DOCUMENT_CHARS = 128 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      // The OCSF schema and docs are not events.
      if (name !== "schema" && name !== "docs") out.push(...files(path));
    } else if (!/\.md$/i.test(name)) out.push(path);
  }
  return out;
}

/** Vendor events inside a file's JSON value: Panther's `log` wrapper, Elastic's `events`/`expected` arrays. */
function eventsOf(v: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(v)) return v.flatMap(eventsOf);
  if (!isObject(v)) return [];
  if ("panther_log_type" in v && isObject(v["log"])) return [v["log"]];
  for (const k of ["events", "expected"]) {
    const list = v[k];
    if (Array.isArray(list) && Object.keys(v).length === 1) return list.flatMap(eventsOf);
  }
  return [v];
}

/** CEF/LEEF/syslog lines carried inside JSON events (`message`, `event.original`, Splunk `_raw`). */
function embeddedLines(v: Record<string, unknown>): string[] {
  const out: string[] = [];
  const event = v["event"];
  for (const s of [v["message"], v["_raw"], isObject(event) ? event["original"] : undefined]) {
    if (typeof s === "string" && s.trim() !== "" && !s.trimStart().startsWith("{")) out.push(...s.split("\n"));
  }
  return out.filter((l) => l.trim() !== "");
}

/** Top-level JSON objects of a text holding pretty-printed documents one after another, or undefined. */
function concatenated(text: string): unknown[] | undefined {
  const out: unknown[] = [];
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
    else if (c === "}" && --depth === 0) {
      try {
        out.push(JSON.parse(text.slice(start, i + 1)));
      } catch {
        return undefined;
      }
    } else if (depth === 0 && c !== undefined && c.trim() !== "") return undefined;
  }
  return out.length > 0 && depth === 0 ? out : undefined;
}

function load(): Corpus {
  if (!existsSync(CORPUS_DIR)) {
    throw new Error(`corpus ${CORPUS_DIR} not found: the fuzz suite expects ../shared/corpus beside the repository`);
  }
  const json: JsonSample[] = [];
  const lines: TextSample[] = [];
  const documents: TextSample[] = [];
  const seen = new Set<string>();
  const perFile = new Map<string, number>();
  const addLine = (from: string, text: string) => {
    const n = perFile.get(from) ?? 0;
    if (seen.has(text) || n >= MAX_LINES_PER_FILE) return;
    seen.add(text);
    perFile.set(from, n + 1);
    lines.push({ from, text });
  };
  const addJson = (from: string, v: Record<string, unknown>) => {
    json.push({ from, value: v, text: JSON.stringify(v) });
    for (const l of embeddedLines(v)) addLine(`${from} (embedded)`, l);
  };
  for (const path of [...files(CORPUS_DIR), ...files(DEMO_DIR)]) {
    const from = path.startsWith(CORPUS_DIR) ? relative(CORPUS_DIR, path) : `demo/${relative(DEMO_DIR, path)}`;
    const text = readFileSync(path, "utf8");
    if (text.length <= MAX_DOCUMENT_CHARS) documents.push({ from, text });
    let whole: unknown;
    try {
      whole = JSON.parse(text);
    } catch {
      whole = concatenated(text);
    }
    if (whole !== undefined) {
      for (const e of eventsOf(whole)) addJson(from, e);
      continue;
    }
    for (const raw of text.split("\n")) {
      const line = raw.replace(/\r$/, "");
      if (line.trim() === "") continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        v = undefined;
      }
      if (v !== undefined) for (const e of eventsOf(v)) addJson(from, e);
      else addLine(from, line);
    }
  }
  if (json.length < 100 || lines.length < 10) {
    throw new Error(`corpus ${CORPUS_DIR} holds only ${json.length} JSON events and ${lines.length} text lines`);
  }
  return { json, lines, documents };
}

let cached: Corpus | undefined;

/** The corpus, loaded once per process. */
export function corpus(): Corpus {
  cached ??= load();
  return cached;
}
