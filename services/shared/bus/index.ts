export type { Bus, BatchHandler, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from "./types.ts";
export { MemoryBus } from "./memory.ts";
export { KafkaBus, type KafkaBusOptions } from "./kafka.ts";
export { PlatformaticBus } from "./platformatic.ts";
export { inKeyOrder } from "./keyed.ts";
import type { KafkaClient } from "../config.ts";
import { KafkaBus, type KafkaBusOptions } from "./kafka.ts";
import { PlatformaticBus } from "./platformatic.ts";
import type { Bus } from "./types.ts";

/** The Kafka bus on the client library RIPOSTE_KAFKA_CLIENT names; both pass the same conformance suite. */
export function kafkaBus(client: KafkaClient, opts: KafkaBusOptions): Bus {
  return client === "platformatic" ? new PlatformaticBus(opts) : new KafkaBus(opts);
}
