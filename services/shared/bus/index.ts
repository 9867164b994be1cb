export type { Bus, BatchHandler, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from "./types.ts";
export { MemoryBus } from "./memory.ts";
export { KafkaBus, type KafkaBusOptions } from "./kafka.ts";
export { inKeyOrder } from "./keyed.ts";
