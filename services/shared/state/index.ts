export type { BudgetResult, ClaimResult, ListEntry, StateStore, TimelineEntry } from "./types.ts";
export { stateKey } from "./types.ts";
export { MemoryState } from "./memory.ts";
export { RedisState, loadScripts } from "./redis.ts";
