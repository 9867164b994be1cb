/**
 * `find_message`: every copy of a message, by Internet Message-ID, in each recipient's mailbox (`GET
 * /v1.0/users/{upn}/messages?$filter=internetMessageId eq '...'`, all folders, following `@odata.nextLink`).
 * Recipients without a mailbox (404) are listed apart, not failed.
 */
import { action } from "../types.ts";
import { FindInput } from "./mail.ts";
import { GRAPH_REQUESTS, ID_PLACEHOLDER, type GraphClient, type MessageCopy } from "./transport.ts";

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
  // A dry run plans on one copy in each recipient's mailbox (its id unknown until the search runs): a purge and a
  // notice per recipient.
  sample: (input) => {
    const mailboxes = [...new Set(input.recipients.map((r) => r.toLowerCase()))];
    return {
      internet_message_id: input.message_id,
      copies: mailboxes.map((mailbox) => ({ mailbox, message_id: ID_PLACEHOLDER })),
      count: mailboxes.length,
      mailboxes_with_copies: mailboxes,
      no_mailbox: [],
    };
  },
  preview: (input) =>
    [...new Set(input.recipients.map((r) => r.toLowerCase()))].map((m) =>
      GRAPH_REQUESTS.findMessages(m, input.message_id),
    ),
});
