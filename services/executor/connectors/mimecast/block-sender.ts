/**
 * `block_sender`: a Blocked Senders policy for an address or domain, to everyone (`create-policy`, option
 * `block_sender`, From both envelope and header). Mimecast would take a second identical policy, so the policies
 * are read first and an existing block is the block.
 */
import { action } from "../types.ts";
import { SenderInput, describe, senderTarget } from "./inputs.ts";
import { MIMECAST_REQUESTS, policySender, type MimecastClient } from "./transport.ts";

export const blockSender = action({
  classification: "containment",
  idempotent: true,
  reverse: "unblock_sender",
  description: "Block a sender address or domain at the Mimecast gateway for every recipient (Blocked Senders policy)",
  input: SenderInput,
  resolve: async (_client: MimecastClient, { input }) => senderTarget(input.sender),
  verify: async (client: MimecastClient, { input, signal }) => {
    const ids = (await client.blockedSenders(signal))
      .filter((p) => policySender(p) === input.sender)
      .map((p) => p["id"]);
    return { done: ids.length > 0, response: { sender: input.sender, policy_ids: ids, verified: true } };
  },
  run: async (client: MimecastClient, { input, signal }) => {
    const existing = (await client.blockedSenders(signal)).find((p) => policySender(p) === input.sender);
    if (existing) return { sender: input.sender, policy_id: existing["id"], already: true };
    const body = await client.call(
      MIMECAST_REQUESTS.createBlockedSender(input.sender, describe(`block ${input.sender}`, input.reason)),
      signal,
      "block_sender",
    );
    const created = (body["data"] as Array<Record<string, unknown>>)[0];
    return { sender: input.sender, policy_id: created?.["id"] };
  },
  preview: (input) => [
    MIMECAST_REQUESTS.getBlockedSenders(),
    MIMECAST_REQUESTS.createBlockedSender(input.sender, describe(`block ${input.sender}`, input.reason)),
  ],
});
