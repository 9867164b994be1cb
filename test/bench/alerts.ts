/** Bench inputs: synthetic Suricata alerts for the thin path, and a mix of corpus formats (read at run time). */
import { existsSync } from "node:fs";
import { normalizeEvent } from "../../services/ingest/normalizers/index.ts";
import { CORPUS, corpusEvents, corpusLines, corpusSampleFiles } from "../../services/ingest/normalizers/testing.ts";
import type { NormalizedEvent } from "../../schemas/index.ts";
import type { RawEvent } from "../../services/ingest/normalizers/index.ts";

/** What a synthetic alert is meant to do against rules/network-ids-internal-host-isolate.yaml. */
export type AlertKind = "match" | "internal-low-severity" | "never-isolate" | "external";

export interface SyntheticAlert {
  /** flow_id as a string: the first part of the normalized alert's uid (`flow:sid:rev:time`). */
  readonly flow: string;
  readonly kind: AlertKind;
  readonly srcIp: string;
  /** One NDJSON line. */
  readonly line: string;
}

const FLOW_BASE = 1_000_000_000_000_000;

/**
 * Suricata alert number `i`: a distinct flow_id (so a distinct fingerprint) and, for one in ten, a distinct
 * internal source address at priority 1, which the rule matches. The others are a low-severity internal alert,
 * a never-isolate host (10.0.0.1) and seven external sources: no match.
 */
export function suricataAlert(i: number, time: number): SyntheticAlert {
  const bucket = i % 10;
  const kind: AlertKind =
    bucket === 0 ? "match" : bucket === 1 ? "internal-low-severity" : bucket === 2 ? "never-isolate" : "external";
  const a = (i >> 16) & 0xff;
  const b = (i >> 8) & 0xff;
  const c = i & 0xff;
  const srcIp =
    kind === "match"
      ? `10.${1 + a}.${b}.${c}`
      : kind === "internal-low-severity"
        ? `192.168.${b}.${c}`
        : kind === "never-isolate"
          ? "10.0.0.1"
          : `44.${a}.${b}.${c}`;
  const flow = String(FLOW_BASE + i);
  const timestamp = new Date(time).toISOString();
  const line =
    `{"timestamp":"${timestamp}","flow_id":${flow},"in_iface":"en0","event_type":"alert",` +
    `"src_ip":"${srcIp}","src_port":${40000 + (i % 20000)},"dest_ip":"192.0.2.${1 + (i % 250)}","dest_port":443,` +
    `"proto":"TCP","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2024833,"rev":3,` +
    `"signature":"ET POLICY Observed IP Lookup Domain (l2 .io in TLS SNI)",` +
    `"category":"Potential Corporate Privacy Violation","severity":${kind === "internal-low-severity" ? 3 : 1}},` +
    `"tls":{"session_resumed":true,"sni":"l2.io","version":"TLS 1.2"},"app_proto":"tls",` +
    `"flow":{"pkts_toserver":4,"pkts_toclient":3,"bytes_toserver":793,"bytes_toclient":343,"start":"${timestamp}"}}`;
  return { flow, kind, srcIp, line };
}

/** The flow id of a decision's or action record's alert uid. */
export function flowOfUid(uid: unknown): string | undefined {
  if (typeof uid !== "string") return undefined;
  const i = uid.indexOf(":");
  return i > 0 ? uid.slice(0, i) : undefined;
}

/** Normalizes one NDJSON/text line as ingest would (source "bench": the format is detected). */
export function normalizeLine(line: string, receivedTime = Date.now()): NormalizedEvent | undefined {
  let event: RawEvent;
  if (line.startsWith("{")) event = { kind: "json", value: JSON.parse(line) as Record<string, unknown> };
  else event = { kind: "text", value: line };
  const out = normalizeEvent(event, line, { source: "bench", receivedTime });
  return out.ok ? out.event : undefined;
}

/** Corpus events that normalize, by detected format, served round-robin across formats (format-balanced). */
export interface CorpusMix {
  readonly formats: readonly string[];
  /** Distinct lines per format. */
  readonly byFormat: ReadonlyMap<string, readonly string[]>;
  readonly distinct: number;
  readonly files: number;
  /** Corpus pieces left out because they do not normalize (telemetry, unknown formats). */
  readonly rejected: number;
  /** Line number `k` of the endless format-balanced sequence. */
  line(k: number): string;
}

export type CorpusResult =
  { readonly ok: true; readonly mix: CorpusMix } | { readonly ok: false; readonly reason: string };

/**
 * Reads every file directly under each ../shared/corpus/<dir>/ (JSON documents or NDJSON through corpusEvents,
 * other files as text lines through corpusLines) and keeps the events auto-detection normalizes.
 */
export function loadCorpusMix(): CorpusResult {
  if (!existsSync(CORPUS)) return { ok: false, reason: `corpus not found at ${CORPUS} (../shared is missing)` };
  const byFormat = new Map<string, string[]>();
  let files = 0;
  let rejected = 0;
  for (const relative of corpusSampleFiles()) {
    let lines: string[];
    try {
      lines = corpusEvents(relative).map((e) => JSON.stringify(e));
    } catch {
      lines = corpusLines(relative);
    }
    files++;
    for (const line of lines) {
      let event: NormalizedEvent | undefined;
      try {
        event = normalizeLine(line);
      } catch {
        event = undefined;
      }
      if (!event) {
        rejected++;
        continue;
      }
      const list = byFormat.get(event.riposte.format) ?? [];
      list.push(line);
      byFormat.set(event.riposte.format, list);
    }
  }
  const formats = [...byFormat.keys()].sort();
  if (formats.length === 0) return { ok: false, reason: `no corpus event under ${CORPUS} normalizes` };
  const distinct = [...byFormat.values()].reduce((n, l) => n + l.length, 0);
  return {
    ok: true,
    mix: {
      formats,
      byFormat,
      distinct,
      files,
      rejected,
      line: (k) => {
        const list = byFormat.get(formats[k % formats.length] as string) as string[];
        return list[Math.floor(k / formats.length) % list.length] as string;
      },
    },
  };
}

/** `count` NDJSON bodies of `size` lines each, continuing the mix's sequence (so bodies differ). */
export function corpusBodies(mix: CorpusMix, count: number, size: number): string[] {
  const bodies: string[] = [];
  for (let b = 0; b < count; b++) {
    const lines: string[] = [];
    for (let j = 0; j < size; j++) lines.push(mix.line(b * size + j));
    bodies.push(`${lines.join("\n")}\n`);
  }
  return bodies;
}
