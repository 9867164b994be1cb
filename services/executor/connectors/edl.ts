/**
 * The external dynamic lists Riposte serves (`GET /v1/edl/{name}`, see edl-list.ts): `block_ip` lists an address or
 * CIDR block until its TTL runs out, `unblock_ip` takes it off. No vendor is called, so the connector needs no URL
 * and is always live; firewalls pick a change up at their next poll.
 */
import { z } from "zod";
import { parseDuration } from "../../../schemas/duration.ts";
import {
  EDL_MAX_TTL_MS,
  EDL_NAME,
  addEntries,
  addEntry,
  canonicalEntry,
  listEntries,
  removeEntry,
} from "./edl-list.ts";
import { action, type ConnectorDescriptor, type ConnectorEnv } from "./types.ts";

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

const Entry = z.string().transform((s, ctx) => {
  const entry = canonicalEntry(s);
  if (entry !== undefined) return entry;
  ctx.addIssue({ code: "custom", message: `"${s.slice(0, 100)}" is not an IP address or CIDR block` });
  return z.NEVER;
});

const List = z.string().regex(EDL_NAME, "a list name is 1-64 lower-case letters, digits, '_' or '-'").default("block");

const BlockInput = z.strictObject({
  /** An IP address or CIDR block, canonicalised (IPv4-mapped IPv6 becomes IPv4). */
  ip: Entry,
  list: List,
  /** How long the entry stays listed: the step's lease TTL in the shipped playbook (default 24h, at most 30d). */
  ttl: z
    .string()
    .default("24h")
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === undefined || ms > EDL_MAX_TTL_MS) {
        ctx.addIssue({ code: "custom", message: `ttl must be a duration from 1ms to 30d, got "${s}"` });
        return z.NEVER;
      }
      return ms;
    }),
  /** Why (kept in the audit record through the params; not served). */
  reason: z.string().max(2000).optional(),
});

const UnblockInput = z.strictObject({ ip: Entry, list: List, reason: z.string().max(2000).optional() });

/** What guards check: the canonical entry (a protected address spelled as IPv4-mapped IPv6 is still caught). */
const resolveEntry = async (_c: EdlClient, { input }: { input: { ip: string; list: string } }) => ({
  id: input.ip,
  ips: [input.ip],
  detail: { list: input.list, entry: input.ip },
});

export const edl: ConnectorDescriptor<EdlClient> = {
  name: "edl",
  title: "External dynamic list (served by Riposte)",
  credentials: [],
  local: true,
  client: (_url, _credentials, env) => new EdlClient(env),
  actions: {
    block_ip: action({
      classification: "containment",
      idempotent: true,
      reverse: "unblock_ip",
      reverseInput: (input) => ({ ip: input.ip, list: input.list, reason: "its lease ended" }),
      description: "List an IP address or CIDR block on a served external dynamic list until its TTL runs out",
      input: BlockInput,
      resolve: resolveEntry,
      verify: async (client: EdlClient, { input }) => {
        const r = await client.listed(input.list, input.ip);
        return { done: r.listed, response: { list: input.list, entry: input.ip, ...r } };
      },
      run: async (client: EdlClient, { input }) => client.block(input.list, input.ip, input.ttl),
      // Blocks within the coalescing window are added in one state operation per list.
      batch: {
        max: 5_000,
        run: async (client: EdlClient, items) =>
          client.blockMany(items.map(({ input }) => ({ list: input.list, entry: input.ip, ttlMs: input.ttl }))),
      },
    }),
    unblock_ip: action({
      classification: "containment",
      idempotent: true,
      reverse: "block_ip",
      lifts: true,
      description: "Take an IP address or CIDR block off a served external dynamic list",
      input: UnblockInput,
      resolve: resolveEntry,
      verify: async (client: EdlClient, { input }) => {
        const r = await client.listed(input.list, input.ip);
        return { done: !r.listed, response: { list: input.list, entry: input.ip, ...r } };
      },
      run: async (client: EdlClient, { input }) => client.unblock(input.list, input.ip),
    }),
  },
};
