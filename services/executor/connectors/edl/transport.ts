/** The EDL "transport": Riposte's own state (the served lists live there), no vendor, no credentials. */
import { addEntries, addEntry, listEntries, removeEntry } from "./list.ts";
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

  /** Lists many entries at once: one state operation per list however many entries it gets. */
  async blockMany(
    items: ReadonlyArray<{ list: string; entry: string; ttlMs: number }>,
  ): Promise<Array<Record<string, unknown>>> {
    const { state, statePrefix, now } = this.env;
    const t = now();
    const lists = new Map<string, Array<{ entry: string; untilMs: number }>>();
    for (const i of items) {
      const l = lists.get(i.list) ?? [];
      l.push({ entry: i.entry, untilMs: t + i.ttlMs });
      lists.set(i.list, l);
    }
    for (const [list, entries] of lists) await addEntries(state, statePrefix, list, entries, t);
    return items.map((i) => ({
      list: i.list,
      entry: i.entry,
      expires: new Date(t + i.ttlMs).toISOString(),
      served_at: `/v1/edl/${i.list}`,
    }));
  }

  async unblock(list: string, entry: string): Promise<Record<string, unknown>> {
    const { state, statePrefix, now } = this.env;
    await removeEntry(state, statePrefix, list, entry, now());
    return { list, entry, removed: true, served_at: `/v1/edl/${list}` };
  }
}
