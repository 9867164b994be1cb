/** `block_ip`: list an IP or CIDR on a served EDL until its TTL runs out; reversed by `unblock_ip`. */
import { action } from "../types.ts";
import { BlockInput, resolveEntry } from "./entry.ts";
import type { EdlClient } from "./transport.ts";

export const blockIp = action({
  classification: "containment",
  idempotent: true,
  reverse: "unblock_ip",
  description: "List an IP address or CIDR block on a served external dynamic list until its TTL runs out",
  input: BlockInput,
  resolve: resolveEntry,
  verify: async (client: EdlClient, { input }) => {
    const r = await client.listed(input.list, input.ip);
    return { done: r.listed, response: { list: input.list, entry: input.ip, ...r } };
  },
  run: async (client: EdlClient, { input }) => client.block(input.list, input.ip, input.ttl),
});
