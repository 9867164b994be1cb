/**
 * `block_url`: a TTP URL Protection managed URL with action block (`create-managed-url`): clicks on it, in mail
 * already delivered too, are refused. The managed URLs are read first, so a URL already blocked is not added twice.
 */
import { action } from "../types.ts";
import { UrlInput, describe } from "./inputs.ts";
import { MIMECAST_REQUESTS, type MimecastClient } from "./transport.ts";

/** The key a managed URL is compared by: its domain, plus path and query for an explicit match. */
export function key(entry: { domain: string; path: string; query: string; matchType: string }): string {
  const domain = entry.domain.toLowerCase();
  return entry.matchType === "domain"
    ? `domain:${domain}`
    : `explicit:${domain}${entry.path || "/"}${entry.query ? `?${entry.query}` : ""}`;
}

export function wanted(url: string, matchType: string): string {
  const u = new URL(url);
  return key({ domain: u.hostname, path: u.pathname, query: u.search.replace(/^\?/, ""), matchType });
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** The managed URLs that block what the input names. */
export async function blocksOf(client: MimecastClient, input: { url: string; match: string }, signal: AbortSignal) {
  const want = wanted(input.url, input.match);
  const listed = (await client.call(MIMECAST_REQUESTS.getManagedUrls(), signal, "list managed URLs"))["data"] as Array<
    Record<string, unknown>
  >;
  return listed.filter(
    (e) =>
      str(e["action"]) === "block" &&
      key({
        domain: str(e["domain"]),
        path: str(e["path"]),
        query: str(e["queryString"]),
        matchType: str(e["matchType"]),
      }) === want,
  );
}

export const blockUrl = action({
  classification: "containment",
  idempotent: true,
  reverse: "unblock_url",
  description: "Block a URL (or its whole domain) for clicks through Mimecast URL Protection",
  input: UrlInput,
  resolve: async (_client: MimecastClient, { input }) => {
    const host = new URL(input.url).hostname.toLowerCase();
    return { id: input.url, hosts: [host], detail: { url: input.url, match: input.match } };
  },
  verify: async (client: MimecastClient, { input, signal }) => {
    const ids = (await blocksOf(client, input, signal)).map((e) => e["id"]);
    return { done: ids.length > 0, response: { url: input.url, managed_url_ids: ids, verified: true } };
  },
  run: async (client: MimecastClient, { input, signal }) => {
    const existing = (await blocksOf(client, input, signal))[0];
    if (existing) return { url: input.url, managed_url_id: existing["id"], already: true };
    const body = await client.call(
      MIMECAST_REQUESTS.createManagedUrl(input.url, input.match, describe(`block ${input.url}`, input.reason)),
      signal,
      "block_url",
    );
    return { url: input.url, managed_url_id: (body["data"] as Array<Record<string, unknown>>)[0]?.["id"] };
  },
  preview: (input) => [
    MIMECAST_REQUESTS.getManagedUrls(),
    MIMECAST_REQUESTS.createManagedUrl(input.url, input.match, describe(`block ${input.url}`, input.reason)),
  ],
});
