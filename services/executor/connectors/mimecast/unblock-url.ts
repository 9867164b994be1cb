/** `unblock_url`: delete the managed URLs that block the URL (or its domain); none left = done. The lift. */
import { action } from "../types.ts";
import { blocksOf } from "./block-url.ts";
import { UrlInput } from "./inputs.ts";
import { MIMECAST_REQUESTS, type MimecastClient } from "./transport.ts";

export const unblockUrl = action({
  classification: "containment",
  idempotent: true,
  reverse: "block_url",
  lifts: true,
  description: "Remove the Mimecast URL Protection blocks of a URL (or of its domain, with match: domain)",
  input: UrlInput,
  run: async (client: MimecastClient, { input, signal }) => {
    const ids = (await blocksOf(client, input, signal))
      .map((e) => e["id"])
      .filter((id): id is string => typeof id === "string");
    for (const id of ids) await client.call(MIMECAST_REQUESTS.deleteManagedUrl(id), signal, "unblock_url");
    return { url: input.url, removed_managed_url_ids: ids, ...(ids.length === 0 ? { already: true } : {}) };
  },
  preview: (input) => [
    MIMECAST_REQUESTS.getManagedUrls(),
    MIMECAST_REQUESTS.deleteManagedUrl(`{managed URL id for ${input.url}}`),
  ],
});
