/**
 * The ingest stage: raw pieces → normalized events on riposte.alerts.normalized, and everything else on
 * riposte.dlq with its reason and original bytes. Resolves only once every record is durable on the bus.
 *
 * Bounded work per call: pieces are normalized and published in chunks (one chunk built while the previous one is
 * being acknowledged), with a yield to the event loop between chunks; one piece that fails, even by throwing, is
 * dead-lettered alone; the answer summarises outcomes by code and lists per-piece results only up to a bound.
 */
import { performance } from "node:perf_hooks";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import type { Bus, OutMessage } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { messageOf } from "../shared/errors.ts";
import { eventUid } from "../../schemas/index.ts";
import {
  ATTR,
  headersFor,
  inSpan,
  sendAttributes,
  traceIdOf,
  tracesExported,
  SpanKind,
  type Context,
  type Link,
} from "../shared/telemetry.ts";
import { LABEL, type Metrics } from "../shared/metrics.ts";
import type { NormalizeOutcome } from "./normalizers/index.ts";
import { normalizePiece, type BodyInvalid, type Piece } from "./body.ts";

export interface IngestItemResult {
  readonly index: number;
  readonly status: "normalized" | "dropped" | "dead_lettered" | "failed";
  readonly uid?: string;
  readonly entity_key?: string;
  readonly format?: string;
  readonly code?: string;
  readonly reason?: string;
}

export interface IngestResult {
  /** Pieces taken in (each ends normalized, dead-lettered, or — with deadLetter: false — failed). */
  readonly accepted: number;
  readonly normalized: number;
  /** Normalized events of a class the source drops (RIPOSTE_SOURCE_DROP_CLASSES): counted, not published. */
  readonly dropped: number;
  readonly dead_lettered: number;
  /** Pieces that did not normalize, by error code. */
  readonly failed: Readonly<Record<string, number>>;
  readonly trace_id: string;
  /** Per-piece results, the first MAX_RESULT_ITEMS only. */
  readonly items: readonly IngestItemResult[];
  /** Per-piece results left out of `items`. */
  readonly items_omitted: number;
}

export interface IngestOptions {
  readonly source: string;
  readonly format?: string | undefined;
  /** Trace context to continue (a trusted sender's, or a raw message's); a new trace starts when absent. */
  readonly parent?: Context;
  /** Span contexts to link to without continuing them (an untrusted sender's trace context). */
  readonly links?: readonly Link[];
  readonly receivedTime?: number;
  /** Dead-letter the pieces that fail (default true); replay turns it off so still-failing records are only counted. */
  readonly deadLetter?: boolean;
  /** Normalize and report, publish nothing. */
  readonly dryRun?: boolean;
}

export interface IngestorDeps {
  readonly bus: Bus;
  readonly topics: TopicNames;
  readonly metrics: Metrics;
  /**
   * Formats each listed source may send (RIPOSTE_SOURCE_FORMATS; `*` allows any). Configuration refuses a source
   * with its own token and no binding; sources not listed here (the API token's) may send any format.
   */
  readonly sourceFormats?: Readonly<Record<string, readonly string[]>>;
  /**
   * OCSF classes (class_uid) each source's events are dropped in, `*` for every source
   * (RIPOSTE_SOURCE_DROP_CLASSES); unset drops nothing.
   */
  readonly dropClasses?: Readonly<Record<string, readonly number[]>>;
}

/** Per-piece results an answer lists at most. */
export const MAX_RESULT_ITEMS = 500;
/** Longest reason an answer item carries (the DLQ record keeps the whole one). */
const MAX_ITEM_REASON = 300;
/** Pieces per published chunk. */
const CHUNK_PIECES = 500;
/** Bytes of records per published chunk. */
const CHUNK_BYTES = 2 * 1024 * 1024;

type Outcome =
  | NormalizeOutcome
  | BodyInvalid
  | { ok: false; code: "RIPOSTE_FORMAT_NOT_ALLOWED"; reason: string; format: string }
  | { ok: false; code: "RIPOSTE_NORMALIZER_FAILED"; reason: string };

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export class Ingestor {
  private readonly deps: IngestorDeps;

  constructor(deps: IngestorDeps) {
    this.deps = deps;
  }

  /** The formats a source may send, or undefined for any. */
  allowedFormats(source: string): readonly string[] | undefined {
    const map = this.deps.sourceFormats;
    const allowed = map && Object.hasOwn(map, source) ? map[source] : undefined;
    return allowed && !allowed.includes("*") ? allowed : undefined;
  }

  /** Whether events of this class from this source are dropped at ingest. */
  drops(source: string, classUid: number): boolean {
    const map = this.deps.dropClasses;
    if (!map) return false;
    const listed = (key: string) => Object.hasOwn(map, key) && (map[key] ?? []).includes(classUid);
    return listed(source) || listed("*");
  }

  /** The outcome of one piece, with the source's format binding applied; never throws. */
  private outcomeOf(piece: Piece, opts: IngestOptions, receivedTime: number): Outcome {
    let out: NormalizeOutcome | BodyInvalid;
    try {
      out = normalizePiece(piece, { source: opts.source, format: opts.format, receivedTime });
    } catch (e) {
      return { ok: false, code: "RIPOSTE_NORMALIZER_FAILED", reason: `normalization failed: ${messageOf(e)}` };
    }
    const allowed = this.allowedFormats(opts.source);
    if (out.ok && allowed && !allowed.includes(out.format)) {
      return {
        ok: false,
        code: "RIPOSTE_FORMAT_NOT_ALLOWED",
        format: out.format,
        reason: `source "${opts.source}" may only send ${allowed.join(", ")}, not ${out.format} (RIPOSTE_SOURCE_FORMATS)`,
      };
    }
    return out;
  }

  /**
   * Normalizes the pieces and publishes every outcome; rejects (RIPOSTE_BUS_UNAVAILABLE) if the bus did not
   * acknowledge. Chunks published before a rejection stay published (the sender's retry is deduplicated).
   */
  async ingest(pieces: readonly Piece[], opts: IngestOptions): Promise<IngestResult> {
    const { bus, topics, metrics } = this.deps;
    const receivedTime = opts.receivedTime ?? Date.now();
    const started = performance.now();
    const deadLetter = opts.deadLetter !== false;
    return inSpan(
      "ingest",
      opts.parent ?? ROOT_CONTEXT,
      { ...sendAttributes(bus.kind, topics.normalized), [ATTR.source]: opts.source, [ATTR.batchSize]: pieces.length },
      async (span) => {
        const headers = headersFor(span);
        const traceId = traceIdOf(span);
        const items: IngestItemResult[] = [];
        const failed: Record<string, number> = {};
        let normalizedCount = 0;
        let droppedCount = 0;
        let deadLettered = 0;
        // Labelled tallies for /metrics, counted once per body: format in, (format, class) out, (stage, code) DLQ.
        const tally = new Map<string, number>();
        const add = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
        let inFlight: Promise<void> | undefined;
        const note = (item: IngestItemResult) => {
          if (items.length < MAX_RESULT_ITEMS) items.push(item);
        };
        for (let from = 0; from < pieces.length;) {
          const normalized: OutMessage[] = [];
          const dlq: OutMessage[] = [];
          let bytes = 0;
          let index = from;
          for (; index < pieces.length && index - from < CHUNK_PIECES && bytes < CHUNK_BYTES; index++) {
            const piece = pieces[index] as Piece;
            const outcome = this.outcomeOf(piece, opts, receivedTime);
            if (outcome.ok && this.drops(opts.source, outcome.event.class_uid)) {
              // Understood and deliberately not wanted: neither published nor dead-lettered, only counted.
              droppedCount++;
              add(`in\t${outcome.format}`);
              note({ index, status: "dropped", uid: eventUid(outcome.event), format: outcome.format });
              continue;
            }
            let value: string | undefined;
            let fail: { code: string; reason: string; format?: string | undefined } | undefined;
            if (outcome.ok) {
              try {
                value = JSON.stringify(outcome.event);
              } catch (e) {
                fail = { code: "RIPOSTE_NORMALIZER_FAILED", reason: `serializing the event failed: ${messageOf(e)}` };
              }
            } else
              fail = {
                code: outcome.code,
                reason: outcome.reason,
                format: "format" in outcome ? outcome.format : undefined,
              };
            if (outcome.ok && value !== undefined) {
              const e = outcome.event;
              normalized.push({ key: e.riposte.entity_key, value, headers });
              bytes += value.length;
              normalizedCount++;
              add(`in\t${outcome.format}`);
              add(`out\t${outcome.format}\t${e.class_uid}`);
              note({
                index,
                status: "normalized",
                uid: eventUid(e),
                entity_key: e.riposte.entity_key,
                format: outcome.format,
              });
              continue;
            }
            const { code, reason, format } = fail ?? { code: "RIPOSTE_NORMALIZER_FAILED", reason: "no outcome" };
            failed[code] = (failed[code] ?? 0) + 1;
            if (deadLetter) {
              const rec = JSON.stringify(
                dlqRecord({
                  stage: piece.ok ? "normalize" : "ingest",
                  code,
                  reason,
                  source: opts.source,
                  original: piece.text,
                  format,
                  requestedFormat: opts.format,
                  time: receivedTime,
                  traceId,
                }),
              );
              dlq.push({ key: opts.source, value: rec, headers });
              bytes += rec.length;
              deadLettered++;
              add(`in\t${format ?? "unknown"}`);
              add(`dlq\t${piece.ok ? "normalize" : "ingest"}\t${code}`);
            }
            note({
              index,
              status: deadLetter ? "dead_lettered" : "failed",
              code,
              reason: clip(reason, MAX_ITEM_REASON),
              ...(format ? { format } : {}),
            });
          }
          from = index;
          // One chunk in flight while the next is built: memory stays at two chunks whatever the body holds.
          await inFlight;
          inFlight = undefined;
          if (!opts.dryRun && (normalized.length > 0 || dlq.length > 0)) {
            inFlight = bus.publishBatch([
              { topic: topics.normalized, messages: normalized },
              { topic: topics.dlq, messages: dlq },
            ]);
            // Handled when awaited; keeps a rejection from being reported as unhandled meanwhile.
            inFlight.catch(() => undefined);
          }
          if (from < pieces.length) await new Promise<void>((r) => setImmediate(r));
        }
        await inFlight;
        if (!opts.dryRun) {
          metrics.observe("riposte_stage_seconds", (performance.now() - started) / 1000, { [LABEL.stage]: "ingest" });
          metrics.inc("ingest_normalized_total", normalizedCount);
          metrics.inc("ingest_dead_lettered_total", deadLettered);
          metrics.inc("ingest_dropped_total", droppedCount);
          for (const [key, n] of tally) {
            const [kind, a = "", b = ""] = key.split("\t");
            if (kind === "in")
              metrics.count("riposte_alerts_in_total", { [LABEL.source]: opts.source, [LABEL.format]: a }, n);
            else if (kind === "out")
              metrics.count(
                "riposte_alerts_out_total",
                { [LABEL.source]: opts.source, [LABEL.format]: a, [LABEL.classUid]: b },
                n,
              );
            else metrics.count("riposte_dlq_records_total", { [LABEL.stage]: a, [LABEL.code]: b }, n);
          }
        }
        if (tracesExported()) span.setAttribute(ATTR.msgBatchCount, normalizedCount);
        return {
          accepted: pieces.length,
          normalized: normalizedCount,
          dropped: droppedCount,
          dead_lettered: deadLettered,
          failed,
          trace_id: traceId,
          items,
          items_omitted: pieces.length - items.length,
        };
      },
      SpanKind.PRODUCER,
      opts.links,
    );
  }
}
