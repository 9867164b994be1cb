/**
 * `find_message`: every copy of a message, by Internet Message-ID, in each recipient's mailbox (`GET
 * /v1.0/users/{upn}/messages?$filter=internetMessageId eq '...'`, all folders, following `@odata.nextLink`).
 * Recipients without a mailbox (404) are listed apart, not failed.
 */
import { action } from "../types.ts";
import { FindInput } from "./mail.ts";
import { GRAPH_REQUESTS, type GraphClient, type MessageCopy } from "./transport.ts";

export const findMessage = action({
  classification: "enrich",
  idempotent: true,
  description: "Find every copy of a message (by Internet Message-ID) in the recipients' mailboxes",
  input: FindInput,
  run: async (client: GraphClient, { input, signal }) => {
    const copies: MessageCopy[] = [];
    const noMailbox: string[] = [];
    for (const mailbox of [...new Set(input.recipients.map((r) => r.toLowerCase()))]) {
      const found = await client.copiesIn(mailbox, input.message_id, signal);
      if (found === undefined) noMailbox.push(mailbox);
      else copies.push(...found);
    }
    return {
      internet_message_id: input.message_id,
      copies,
      count: copies.length,
      mailboxes_with_copies: [...new Set(copies.map((c) => c.mailbox))],
      no_mailbox: noMailbox,
    };
  },
  preview: (input) =>
    [...new Set(input.recipients.map((r) => r.toLowerCase()))].map((m) =>
      GRAPH_REQUESTS.findMessages(m, input.message_id),
    ),
});
