/** The bus: topics of keyed messages, consumed by groups, committed only after the handler's outputs are durable. */

export interface OutMessage {
  readonly key: string | null;
  readonly value: Buffer | string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface InMessage {
  readonly topic: string;
  readonly partition: number;
  /** Offset as a decimal string (Kafka offsets are int64). */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replication?: number;
  readonly compacted?: boolean;
}

/**
 * Handles a batch of messages from one partition, in offset order. When it resolves, the batch's offsets are
 * committed; so it must resolve only after everything it produced is durable. When it rejects, the same batch
 * is delivered again after a backoff: a handler should reject only for infrastructure faults, and send bad
 * input to the DLQ instead.
 */
export type BatchHandler = (messages: readonly InMessage[]) => Promise<void>;

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: BatchHandler;
  /** Where a group with no committed offset starts (default: the earliest retained message). */
  readonly fromBeginning?: boolean;
  /** Upper bound of messages handed to one handler call (default 500). */
  readonly maxBatch?: number;
  /**
   * A one-off reader (a dry run, a scan): what it reads stays retained for everyone else and it holds nothing
   * back (the in-memory bus trims by what groups have read; Kafka retention ignores readers anyway). Remove the
   * group with deleteGroup once it is done.
   */
  readonly ephemeral?: boolean;
}

export interface Subscription {
  /** Stops consuming; a batch in flight finishes (and commits) first. */
  stop(): Promise<void>;
}

export interface Bus {
  readonly kind: "kafka" | "memory";
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** Per partition: where the topic's retained log starts (low) and the next offset to be written (high). */
  offsets(topic: string): Promise<Map<number, { low: string; high: string }>>;
  /** Per partition: the next offset the group will read, for partitions where it has committed one. */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  /** Appends messages; resolves once every one is durable (Kafka: acknowledged by all in-sync replicas). */
  publish(topic: string, messages: readonly OutMessage[]): Promise<void>;
  /** Appends to several topics in one round trip; same durability as publish. */
  publishBatch(batches: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>): Promise<void>;
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
  /** Removes a consumer group and its committed offsets (no-op when unknown); stop its subscriptions first. */
  deleteGroup(groupId: string): Promise<void>;
  close(): Promise<void>;
}

/** Backoff for redelivery after a handler failure: 200 ms doubling to 30 s. */
export function redeliveryDelay(attempt: number): number {
  return Math.min(30_000, 200 * 2 ** Math.min(attempt, 8));
}
