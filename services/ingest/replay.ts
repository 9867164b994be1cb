/**
 * DLQ replay: sends dead-lettered ingest/normalize records back through normalization (once a normalizer is
 * fixed). Records that now normalize are published to riposte.alerts.normalized; records that still fail stay
 * where they are (the DLQ is append-only) and are reported, so replay never loops.
 */
import { randomBytes } from "node:crypto";
import type { Bus } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { DlqRecord } from "../../schemas/index.ts";
import { normalizePiece, splitBody } from "./body.ts";
import type { Ingestor } from "./ingestor.ts";

export interface ReplayReport {
  readonly scanned: number;
  readonly replayed: number;
  readonly still_failing: Readonly<Record<string, number>>;
  readonly skipped_other_stages: number;
}

export interface ReplayOptions {
  readonly bus: Bus;
  readonly topics: TopicNames;
  readonly ingestor: Ingestor;
  /**
   * Consumer group of plain replays: records it already replayed are not replayed again. Dry runs, filtered runs
   * and `fromBeginning` use a one-off group instead, scanning the whole DLQ and leaving this one untouched.
   */
  readonly groupId: string;
  readonly fromBeginning?: boolean | undefined;
  /** Only records with this code (e.g. RIPOSTE_FORMAT_UNKNOWN). */
  readonly code?: string | undefined;
  /** Only records at or after this time (ms). */
  readonly since?: number | undefined;
  /** Report what would be replayed without publishing. */
  readonly dryRun?: boolean;
  readonly progress?: (scanned: number) => void;
}

/** Replays the DLQ up to its current end, then stops. */
export async function replayDlq(opts: ReplayOptions): Promise<ReplayReport> {
  const { bus, topics } = opts;
  const oneOff =
    opts.dryRun === true || opts.code !== undefined || opts.since !== undefined || opts.fromBeginning === true;
  const groupId = oneOff ? `${opts.groupId}.${randomBytes(6).toString("hex")}` : opts.groupId;
  const [offsets, committed] = await Promise.all([bus.offsets(topics.dlq), bus.committedOffsets(groupId, topics.dlq)]);
  const remaining = new Map<number, bigint>();
  for (const [p, { low, high }] of offsets) {
    const from = BigInt(committed.get(p) ?? low) > BigInt(low) ? BigInt(committed.get(p) ?? low) : BigInt(low);
    if (from < BigInt(high)) remaining.set(p, BigInt(high));
  }
  let scanned = 0;
  let replayed = 0;
  let other = 0;
  const failing: Record<string, number> = {};
  if (remaining.size === 0) return { scanned, replayed, still_failing: failing, skipped_other_stages: other };
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sub = await bus.subscribe({
    groupId,
    topics: [topics.dlq],
    fromBeginning: true,
    handler: async (batch) => {
      for (const m of batch) {
        const limit = remaining.get(m.partition);
        if (limit === undefined || BigInt(m.offset) >= limit) continue;
        scanned++;
        if (BigInt(m.offset) + 1n >= limit) remaining.delete(m.partition);
        const rec = DlqRecord.safeParse(JSON.parse(m.value.toString("utf8")));
        if (!rec.success || (rec.data.stage !== "ingest" && rec.data.stage !== "normalize")) {
          other++;
          continue;
        }
        const r = rec.data;
        if ((opts.code && r.code !== opts.code) || (opts.since && r.time < opts.since)) continue;
        const pieces = splitBody(Buffer.from(r.original, "base64").toString("utf8"));
        const outcomes = pieces.map((p) => normalizePiece(p, { source: r.source, receivedTime: r.time }));
        const ok = pieces.filter((_p, i) => outcomes[i]?.ok);
        if (ok.length === 0) {
          const first = outcomes[0];
          const code = first && !first.ok ? first.code : "RIPOSTE_BODY_INVALID";
          failing[code] = (failing[code] ?? 0) + 1;
          continue;
        }
        if (!opts.dryRun) await opts.ingestor.ingest(ok, { source: r.source, receivedTime: r.time });
        replayed++;
      }
      opts.progress?.(scanned);
      if (remaining.size === 0) done();
    },
  });
  await finished;
  await sub.stop();
  return { scanned, replayed, still_failing: failing, skipped_other_stages: other };
}
