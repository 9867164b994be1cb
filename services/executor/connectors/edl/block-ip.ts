/** `block_ip`: list an IP or CIDR on a served EDL until its TTL runs out; reversed by `unblock_ip`. */
import { action } from "../types.ts";
import { BlockInput, resolveEntry } from "./entry.ts";
import type { EdlClient } from "./transport.ts";

export const blockIp = action({
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
  // Riposte's own list, not a vendor's API: the change to the list it serves at GET /v1/edl/{list}.
  preview: (input) => [{ method: "ADD", path: `/v1/edl/${input.list}`, body: { entry: input.ip, ttl_ms: input.ttl } }],
  // Blocks within the coalescing window are added in one state operation per list.
  batch: {
    max: 5_000,
    run: async (client: EdlClient, items) =>
      client.blockMany(items.map(({ input }) => ({ list: input.list, entry: input.ip, ttlMs: input.ttl }))),
  },
});
