/** The EDL "transport": Riposte's own state (the served lists live there), no vendor, no credentials. */
import { addEntry, listEntries, removeEntry } from "./list.ts";
import type { ConnectorEnv } from "../types.ts";

export class EdlClient {
  readonly env: ConnectorEnv;

  constructor(env: ConnectorEnv) {
    this.env = env;
  }

  async listed(list: string, entry: string): Promise<{ listed: boolean; until?: number }> {
    const { state, statePrefix, now } = this.env;
    const hit = (await listEntries(state, statePrefix, list, now())).find((e) => e.entry === entry);
    return hit ? { listed: true, until: hit.until } : { listed: false };
  }

  async block(list: string, entry: string, ttlMs: number): Promise<Record<string, unknown>> {
    const { state, statePrefix, now } = this.env;
    const t = now();
    await addEntry(state, statePrefix, list, entry, t + ttlMs, t);
    return { list, entry, expires: new Date(t + ttlMs).toISOString(), served_at: `/v1/edl/${list}` };
  }

  async unblock(list: string, entry: string): Promise<Record<string, unknown>> {
    const { state, statePrefix, now } = this.env;
    await removeEntry(state, statePrefix, list, entry, now());
    return { list, entry, removed: true, served_at: `/v1/edl/${list}` };
  }
}
