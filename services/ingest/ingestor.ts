/**
 * The ingest stage: raw pieces → normalized events on riposte.alerts.normalized, and everything else on
 * riposte.dlq with its reason and original bytes. Resolves only once every record is durable on the bus.
 */
import type { Bus, OutMessage } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { eventUid } from "../../schemas/index.ts";
import { ATTR, contextFrom, headersFor, inSpan, traceIdOf, SpanKind, type Context } from "../shared/telemetry.ts";
import type { Metrics } from "../shared/metrics.ts";
import type { NormalizeOutcome } from "./normalizers/index.ts";
import { normalizePiece, type BodyInvalid, type Piece } from "./body.ts";

export interface IngestItemResult {
  readonly index: number;
  readonly status: "normalized" | "dead_lettered";
  readonly uid?: string;
  readonly entity_key?: string;
  readonly format?: string;
  readonly code?: string;
  readonly reason?: string;
}

export interface IngestResult {
  readonly accepted: number;
  readonly normalized: number;
  readonly dead_lettered: number;
  readonly trace_id: string;
  readonly items: readonly IngestItemResult[];
}

export interface IngestOptions {
  readonly source: string;
  readonly format?: string | undefined;
  /** Trace context of the request (HTTP traceparent) or raw message; a new trace starts when absent. */
  readonly parent?: Context;
  readonly receivedTime?: number;
}

export interface IngestorDeps {
  readonly bus: Bus;
  readonly topics: TopicNames;
  readonly metrics: Metrics;
  /** Formats each listed source may send (RIPOSTE_SOURCE_FORMATS); unlisted sources may send any. */
  readonly sourceFormats?: Readonly<Record<string, readonly string[]>>;
}

export class Ingestor {
  private readonly deps: IngestorDeps;

  constructor(deps: IngestorDeps) {
    this.deps = deps;
  }

  /** The outcome of one piece, with the source's format allow-list applied. */
  private outcomeOf(
    piece: Piece,
    opts: IngestOptions,
    receivedTime: number,
  ):
    NormalizeOutcome | BodyInvalid | { ok: false; code: "RIPOSTE_FORMAT_NOT_ALLOWED"; reason: string; format: string } {
    const out = normalizePiece(piece, { source: opts.source, format: opts.format, receivedTime });
    const allowed =
      this.deps.sourceFormats && Object.hasOwn(this.deps.sourceFormats, opts.source)
        ? this.deps.sourceFormats[opts.source]
        : undefined;
    if (out.ok && allowed && !allowed.includes(out.format)) {
      return {
        ok: false,
        code: "RIPOSTE_FORMAT_NOT_ALLOWED",
        format: out.format,
        reason: `source "${opts.source}" may only send ${allowed.join(", ")}, not ${out.format} (RIPOSTE_SOURCE_FORMATS)`,
      } as const;
    }
    return out;
  }

  /** Normalizes the pieces and publishes every outcome; rejects (RIPOSTE_BUS_UNAVAILABLE) if the bus did not acknowledge. */
  async ingest(pieces: readonly Piece[], opts: IngestOptions): Promise<IngestResult> {
    const { bus, topics, metrics } = this.deps;
    const receivedTime = opts.receivedTime ?? Date.now();
    const parent = opts.parent ?? contextFrom({});
    return inSpan(
      "ingest",
      parent,
      { [ATTR.source]: opts.source, [ATTR.batchSize]: pieces.length },
      async (span) => {
        const normalized: OutMessage[] = [];
        const dlq: OutMessage[] = [];
        const items: IngestItemResult[] = [];
        const headers = headersFor(span);
        const traceId = traceIdOf(span);
        pieces.forEach((piece, index) => {
          const outcome = this.outcomeOf(piece, opts, receivedTime);
          if (outcome.ok) {
            const e = outcome.event;
            normalized.push({ key: e.riposte.entity_key, value: JSON.stringify(e), headers });
            items.push({
              index,
              status: "normalized",
              uid: eventUid(e),
              entity_key: e.riposte.entity_key,
              format: outcome.format,
            });
          } else {
            const format = "format" in outcome ? outcome.format : undefined;
            const rec = dlqRecord({
              stage: piece.ok ? "normalize" : "ingest",
              code: outcome.code,
              reason: outcome.reason,
              source: opts.source,
              original: piece.text,
              format,
              time: receivedTime,
              traceId,
            });
            dlq.push({ key: opts.source, value: JSON.stringify(rec), headers });
            items.push({
              index,
              status: "dead_lettered",
              code: outcome.code,
              reason: outcome.reason,
              ...(format ? { format } : {}),
            });
          }
        });
        await bus.publishBatch([
          { topic: topics.normalized, messages: normalized },
          { topic: topics.dlq, messages: dlq },
        ]);
        metrics.inc("ingest_normalized_total", normalized.length);
        metrics.inc("ingest_dead_lettered_total", dlq.length);
        return {
          accepted: pieces.length,
          normalized: normalized.length,
          dead_lettered: dlq.length,
          trace_id: traceId,
          items,
        };
      },
      SpanKind.PRODUCER,
    );
  }
}
