export type {
  BudgetResult,
  ClaimResult,
  IncidentFound,
  IncidentKeys,
  IncidentSave,
  IncidentSaveResult,
  IncidentWrite,
  LeaseChange,
  LeaseHold,
  LeaseKeys,
  LeaseRow,
  ListEntry,
  RunKeys,
  RunWrite,
  StateStore,
  TimelineEntry,
} from "./types.ts";
export { incidentKeys, leaseKeys, runKeys, stateKey } from "./types.ts";
export { MemoryState } from "./memory.ts";
export { RedisState, loadScripts } from "./redis.ts";
export { connectRedis, type RedisClient, type RedisTarget } from "./connect.ts";
