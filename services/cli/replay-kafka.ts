/**
 * `riposte replay --topic T --from ISO --to ISO`: the records of a topic (raw or normalized alerts) whose Kafka
 * timestamps fall in [from, to), read once with a one-off consumer group that is deleted afterwards. Each
 * partition is read from the offset of its first record at `from` to that of its first record at `to`, both found
 * with ListOffsets by timestamp, so records produced meanwhile are not read and the same range reads the same
 * records again.
 */
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { splitBody, type Piece } from "../ingest/body.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import { SOURCE_NAME } from "../shared/config.ts";

/** How long a read waits for the next record of its range before it takes the range as read. */
const IDLE_MS = 10_000;

/** One record's piece with what ingest would know of it: source and format headers, the record's time. */
export interface TopicInput {
  readonly piece: Piece;
  readonly source: string;
  readonly format?: string | undefined;
  readonly receivedTime: number;
  readonly delivery: string;
}

export interface TopicRange {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  readonly from: number;
  readonly to: number;
  /** Source of records without a riposte-source header (RIPOSTE_RAW_SOURCE). */
  readonly defaultSource: string;
}

/** Parses an ISO 8601 time of a flag. */
export function isoTime(flag: string, text: string | undefined): number {
  const t = text === undefined ? NaN : Date.parse(text);
  if (Number.isNaN(t))
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", `${flag} ${text ?? "(missing)"}: not a time (use ISO 8601)`);
  return t;
}

/** Reads the topic's records between the two times, in (partition, offset) order. */
export async function readTopic(r: TopicRange): Promise<TopicInput[]> {
  const kafka = new Kafka({ brokers: [...r.brokers], clientId: r.clientId, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `riposte-replay-${randomBytes(6).toString("hex")}`;
  let consumer: Consumer | undefined;
  try {
    if (!(await admin.listTopics()).includes(r.topic))
      throw new RiposteError("RIPOSTE_CONFIG_INVALID", `--topic ${r.topic}: no such topic`);
    const starts = await admin.fetchTopicOffsetsByTimestamp(r.topic, r.from);
    const ends = new Map(
      (await admin.fetchTopicOffsetsByTimestamp(r.topic, r.to)).map((p) => [p.partition, Number(p.offset)]),
    );
    const pending = new Map<number, { next: number; end: number }>();
    for (const p of starts) {
      const range = { next: Number(p.offset), end: ends.get(p.partition) ?? 0 };
      if (range.next < range.end) pending.set(p.partition, range);
    }
    const records = new Map<number, TopicInput[]>([...pending.keys()].map((p) => [p, []]));
    if (pending.size === 0) return [];
    consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    await consumer.connect();
    await consumer.subscribe({ topic: r.topic, fromBeginning: true });
    const c = consumer;
    await new Promise<void>((resolve, reject) => {
      // A range can end on offsets that deliver nothing (compacted away, transaction markers): stop when idle.
      let idle: NodeJS.Timeout | undefined;
      const wait = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          const left = [...pending].map(([n, p]) => `partition ${n} stopped at offset ${p.next} before ${p.end}`);
          process.stderr.write(`riposte replay: ${r.topic}: nothing more to read (${left.join(", ")})\n`);
          resolve();
        }, IDLE_MS);
      };
      wait();
      c.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const p = pending.get(partition);
          const offset = Number(message.offset);
          if (!p || offset >= p.end || offset < p.next) return;
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString("utf8") : ""]),
          );
          const named = headers["riposte-source"] ?? "";
          const source = SOURCE_NAME.test(named) ? named : r.defaultSource;
          const receivedTime = Number(message.timestamp);
          const text = message.value?.toString("utf8") ?? "";
          for (const [i, piece] of splitBody(text).entries())
            records.get(partition)?.push({
              piece,
              source,
              format: headers["riposte-format"],
              receivedTime,
              delivery: `${r.topic}/${partition}/${offset}${i > 0 ? `/${i}` : ""}`,
            });
          p.next = offset + 1;
          if (p.next >= p.end) pending.delete(partition);
          if (pending.size === 0) {
            clearTimeout(idle);
            resolve();
          } else wait();
        },
      }).catch(reject);
      for (const [partition, p] of pending) c.seek({ topic: r.topic, partition, offset: String(p.next) });
    });
    return [...records.keys()].sort((a, b) => a - b).flatMap((p) => records.get(p) ?? []);
  } catch (e) {
    if (e instanceof RiposteError) throw e;
    throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", `reading ${r.topic}: ${messageOf(e)}`, { cause: e });
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
