/** Dead-letter records: what failed, at which stage, why, and the original bytes. */
import type { DlqRecord, DlqStage } from "../../schemas/index.ts";
import { stableId } from "./ids.ts";

/** Builds a DLQ record. */
export function dlqRecord(args: {
  stage: DlqStage;
  code: string;
  reason: string;
  source: string;
  original: Buffer | string;
  format?: string | undefined;
  /** The format the sender asked for, which a replay applies again. */
  requestedFormat?: string | undefined;
  time: number;
  traceId?: string;
  origin?: DlqRecord["origin"];
}): DlqRecord {
  const original = Buffer.isBuffer(args.original) ? args.original : Buffer.from(args.original);
  return {
    id: stableId("dlq", args.stage, args.source, args.time, original.toString("base64")),
    time: args.time,
    stage: args.stage,
    code: args.code,
    reason: args.reason,
    source: args.source,
    ...(args.format ? { format: args.format } : {}),
    ...(args.requestedFormat ? { requested_format: args.requestedFormat } : {}),
    original: original.toString("base64"),
    ...(args.origin ? { origin: args.origin } : {}),
    ...(args.traceId ? { trace_id: args.traceId } : {}),
  };
}
