/** `unblock_ip`: take an IP or CIDR off a served EDL (a lift: never refused by the guards). */
import { action } from "../types.ts";
import { UnblockInput, resolveEntry } from "./entry.ts";
import type { EdlClient } from "./transport.ts";

export const unblockIp = action({
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
  preview: (input) => [{ method: "REMOVE", path: `/v1/edl/${input.list}`, body: { entry: input.ip } }],
});
