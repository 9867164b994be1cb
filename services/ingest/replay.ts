/**
 * DLQ replay: sends dead-lettered ingest/normalize records back through ingest (once a normalizer is fixed), with
 * the source's format binding and the format the sender asked for. Records that now normalize are published to
 * riposte.alerts.normalized; records that still fail stay where they are (the DLQ is append-only) and are only
 * counted, so replay never loops. One replay runs at a time per DLQ, under a lock in the state store.
 */
import { randomBytes } from "node:crypto";
import type { Bus, InMessage, Subscription } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import { DlqRecord } from "../../schemas/index.ts";
import { splitBodyAsync, type SplitLimits } from "./body.ts";
import type { Ingestor } from "./ingestor.ts";

export interface ReplayReport {
  /** DLQ records read. */
  readonly scanned: number;
  /** Records of which at least one event now normalizes (published, unless a dry run). */
  readonly replayed: number;
  /** Events that still do not normalize, by error code (not dead-lettered again). */
  readonly still_failing: Readonly<Record<string, number>>;
  /** Records of the correlate and execute stages, which replay does not handle. */
  readonly skipped_other_stages: number;
  /** Records that are not JSON DLQ records: skipped. */
  readonly unreadable: number;
}

export interface ReplayOptions {
  readonly bus: Bus;
  readonly topics: TopicNames;
  /** Built with the deployment's source→format binding (config.sourceFormats), as ingest's is. */
  readonly ingestor: Ingestor;
  /** Holds the replay lock: Redis in the distributed mode, so that one replay runs at a time in the cluster. */
  readonly state: StateStore;
  /**
   * Consumer group of plain replays: records it already replayed are not replayed again. Dry runs, filtered runs
   * and `fromBeginning` use a one-off group instead, scanning the whole DLQ, leaving this one untouched and
   * deleted at the end.
   */
  readonly groupId: string;
  readonly fromBeginning?: boolean | undefined;
  /** Only records with this code (e.g. RIPOSTE_FORMAT_UNKNOWN). */
  readonly code?: string | undefined;
  /** Only records at or after this time (ms). */
  readonly since?: number | undefined;
  /** Report what would be replayed without publishing. */
  readonly dryRun?: boolean;
  /** Split limits of ingest (a dead-lettered body is split again). */
  readonly limits?: SplitLimits;
  readonly progress?: (scanned: number) => void;
  /** Lifetime of the replay lock between renewals (default REPLAY_LOCK_TTL_MS). */
  readonly lockTtlMs?: number;
}

/** How long the replay lock lasts unless renewed; renewed every third of it while the replay runs. */
export const REPLAY_LOCK_TTL_MS = 60_000;
/** How often a replay checks that the records it waits for still exist (retention may have removed them). */
const RETENTION_CHECK_MS = 5_000;

/** Replays the DLQ up to its current end, then stops. Throws RIPOSTE_REPLAY_BUSY while another replay runs. */
export async function replayDlq(opts: ReplayOptions): Promise<ReplayReport> {
  const key = stateKey(opts.topics.dlq, "dlq-replay", "lock", "replay");
  const lock = await takeLock(opts.state, key, opts.lockTtlMs ?? REPLAY_LOCK_TTL_MS);
  try {
    return await run(opts, lock);
  } finally {
    await lock.release();
  }
}

interface Lock {
  /** Calls `onLost` if the lock is found taken by another replay. */
  watch(onLost: (e: RiposteError) => void): void;
  release(): Promise<void>;
}

async function takeLock(state: StateStore, key: string, ttlMs: number): Promise<Lock> {
  const owner = randomBytes(8).toString("hex");
  const claimed = await state.claim(key, owner, ttlMs);
  if (claimed.state !== "acquired") {
    throw new RiposteError("RIPOSTE_REPLAY_BUSY", "a DLQ replay is already running; try again once it has finished");
  }
  let onLost: ((e: RiposteError) => void) | undefined;
  const timer = setInterval(() => {
    state.claim(key, owner, ttlMs).then(
      (r) => {
        if (r.state !== "acquired") {
          onLost?.(new RiposteError("RIPOSTE_REPLAY_BUSY", "the replay lock expired and another replay took it"));
        }
      },
      // A state store hiccup: the next renewal tries again, well within the TTL.
      () => undefined,
    );
  }, ttlMs / 3);
  timer.unref();
  return {
    watch: (f) => void (onLost = f),
    release: async () => {
      clearInterval(timer);
      // If this fails, the lock expires after its TTL.
      await state.release(key, owner).catch(() => false);
    },
  };
}

type Decoded = { ok: true; record: DlqRecord } | { ok: false };

function decode(m: InMessage): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(m.value.toString("utf8"));
  } catch {
    return { ok: false };
  }
  const rec = DlqRecord.safeParse(value);
  return rec.success ? { ok: true, record: rec.data } : { ok: false };
}

async function run(opts: ReplayOptions, lock: Lock): Promise<ReplayReport> {
  const { bus, topics } = opts;
  const oneOff =
    opts.dryRun === true || opts.code !== undefined || opts.since !== undefined || opts.fromBeginning === true;
  const groupId = oneOff ? `${opts.groupId}.${randomBytes(6).toString("hex")}` : opts.groupId;
  let scanned = 0;
  let replayed = 0;
  let other = 0;
  let unreadable = 0;
  const failing: Record<string, number> = {};
  const report = (): ReplayReport => ({
    scanned,
    replayed,
    still_failing: failing,
    skipped_other_stages: other,
    unreadable,
  });

  const [offsets, committed] = await Promise.all([bus.offsets(topics.dlq), bus.committedOffsets(groupId, topics.dlq)]);
  /** Per partition still to read: the end offset (exclusive) at the start of the replay. */
  const remaining = new Map<number, bigint>();
  for (const [p, { low, high }] of offsets) {
    const from = BigInt(committed.get(p) ?? low) > BigInt(low) ? BigInt(committed.get(p) ?? low) : BigInt(low);
    if (from < BigInt(high)) remaining.set(p, BigInt(high));
  }
  if (remaining.size === 0) return report();

  const replayOne = async (m: InMessage): Promise<void> => {
    scanned++;
    const decoded = decode(m);
    if (!decoded.ok) {
      unreadable++;
      return;
    }
    const r = decoded.record;
    if (r.stage !== "ingest" && r.stage !== "normalize") {
      other++;
      return;
    }
    if ((opts.code !== undefined && r.code !== opts.code) || (opts.since !== undefined && r.time < opts.since)) return;
    const count = (code: string, n: number) => void (failing[code] = (failing[code] ?? 0) + n);
    try {
      const pieces = await splitBodyAsync(Buffer.from(r.original, "base64").toString("utf8"), opts.limits);
      const result = await opts.ingestor.ingest(pieces, {
        source: r.source,
        format: r.requested_format,
        receivedTime: r.time,
        deadLetter: false,
        dryRun: opts.dryRun === true,
      });
      for (const [code, n] of Object.entries(result.failed)) count(code, n);
      if (result.normalized > 0) replayed++;
    } catch (e) {
      // A bus that does not acknowledge fails the replay (nothing of the batch is committed); a record that cannot
      // be taken in (too many events, refused by the broker) is counted, like one that does not normalize.
      if (!isRiposteError(e) || e.retriable) throw e;
      count(e.code, 1);
    }
  };

  let settle!: (e?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (e?: unknown) => {
      if (e === undefined) resolve();
      else reject(e instanceof Error ? e : new Error(messageOf(e)));
    };
  });
  // Awaited below; a failure that comes while the subscription is still starting must not count as unhandled.
  finished.catch(() => undefined);
  const markDone = (partition: number, offset: bigint) => {
    const limit = remaining.get(partition);
    if (limit !== undefined && offset + 1n >= limit) remaining.delete(partition);
    if (remaining.size === 0) settle();
  };
  lock.watch(settle);
  let sub: Subscription | undefined;
  const retention = setInterval(() => {
    // Records removed by retention before they were read are never delivered: stop waiting for them.
    bus.offsets(topics.dlq).then(
      (now) => {
        for (const [p, limit] of remaining) if (BigInt(now.get(p)?.low ?? "0") >= limit) markDone(p, limit);
      },
      () => undefined,
    );
  }, RETENTION_CHECK_MS);
  retention.unref();
  try {
    sub = await bus.subscribe({
      groupId,
      topics: [topics.dlq],
      fromBeginning: true,
      ephemeral: oneOff,
      handler: async (batch) => {
        // Every delivered record is handled, also past the end offsets: the group commits what it was given.
        try {
          for (const m of batch) {
            await replayOne(m);
            markDone(m.partition, BigInt(m.offset));
          }
        } catch (e) {
          settle(e);
          throw e;
        }
        opts.progress?.(scanned);
      },
    });
    await finished;
  } finally {
    clearInterval(retention);
    await sub?.stop();
    // A one-off group left behind would only take space; a failure to delete it does not fail the replay.
    if (oneOff) await bus.deleteGroup(groupId).catch(() => undefined);
  }
  return report();
}
