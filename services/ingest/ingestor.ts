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
import { normalizeEvent } from "./normalizers/index.ts";
import type { Piece } from "./body.ts";

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

export class Ingestor {
  private readonly deps: { bus: Bus; topics: TopicNames; metrics: Metrics };

  constructor(deps: { bus: Bus; topics: TopicNames; metrics: Metrics }) {
    this.deps = deps;
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
          const outcome = piece.ok
            ? normalizeEvent(piece.event, piece.text, { source: opts.source, format: opts.format, receivedTime })
            : ({ ok: false, code: "RIPOSTE_BODY_INVALID", reason: piece.reason } as const);
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
