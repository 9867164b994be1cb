export type {
  BudgetResult,
  ClaimResult,
  IncidentFound,
  IncidentKeys,
  IncidentSave,
  IncidentSaveResult,
  IncidentWrite,
  ListEntry,
  StateStore,
  TimelineEntry,
} from "./types.ts";
export { incidentKeys, stateKey } from "./types.ts";
export { MemoryState } from "./memory.ts";
export { RedisState, loadScripts } from "./redis.ts";
export { connectRedis, type RedisClient, type RedisTarget } from "./connect.ts";
