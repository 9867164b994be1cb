/** `unblock_sender`: delete every Blocked Senders policy for the address or domain (none left = done). */
import { action } from "../types.ts";
import { SenderInput, senderTarget } from "./inputs.ts";
import { MIMECAST_REQUESTS, policySender, type MimecastClient } from "./transport.ts";

export const unblockSender = action({
  classification: "containment",
  idempotent: true,
  reverse: "block_sender",
  lifts: true,
  description: "Remove the Mimecast Blocked Senders policies for a sender address or domain",
  input: SenderInput,
  resolve: async (_client: MimecastClient, { input }) => senderTarget(input.sender),
  run: async (client: MimecastClient, { input, signal }) => {
    const ids = (await client.blockedSenders(signal))
      .filter((p) => policySender(p) === input.sender)
      .map((p) => p["id"])
      .filter((id): id is string => typeof id === "string");
    for (const id of ids) await client.call(MIMECAST_REQUESTS.deleteBlockedSender(id), signal, "unblock_sender");
    return { sender: input.sender, removed_policy_ids: ids, ...(ids.length === 0 ? { already: true } : {}) };
  },
  preview: (input) => [
    MIMECAST_REQUESTS.getBlockedSenders(),
    MIMECAST_REQUESTS.deleteBlockedSender(`{policy id for ${input.sender}}`),
  ],
});
