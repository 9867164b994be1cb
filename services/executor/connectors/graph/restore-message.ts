/**
 * `restore_message`: move copies that purge_message put in Recoverable Items back to the inbox (`POST .../move`),
 * for a purge that was a mistake. Takes purge_message's results (each copy's new id). A copy no longer there (404)
 * was already moved. A lift: never refused by the guards.
 */
import { action } from "../types.ts";
import { RestoreInput } from "./mail.ts";
import { GRAPH_REQUESTS, type GraphClient } from "./transport.ts";

export const restoreMessage = action({
  classification: "containment",
  idempotent: true,
  reverse: "purge_message",
  lifts: true,
  description: "Move purged copies back from Recoverable Items to the inbox (or a folder)",
  input: RestoreInput,
  run: async (client: GraphClient, { input, signal }) => {
    const results = [];
    for (const copy of input.copies) results.push(await client.restore(copy, input.folder, signal));
    return { folder: input.folder, copies: results, restored: results.filter((r) => r.result === "restored").length };
  },
  preview: (input) => input.copies.map((c) => GRAPH_REQUESTS.moveTo(c.mailbox, c.message_id, input.folder)),
});
