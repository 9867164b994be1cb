/**
 * `search_attributes`: the MISP attributes whose value matches, page after page (`limit` a page, at most
 * `max_pages`), as plain JSON: the matches with their event ids, tags and to_ids, and summary fields for conditions.
 */
import { z } from "zod";
import { action } from "../types.ts";
import { matchOf, searchRequest, type MispClient, type MispMatch } from "./transport.ts";

export const SearchInput = z.strictObject({
  value: z.string().trim().min(1).max(1024),
  /** MISP attribute types, comma-separated (`ip-src,ip-dst`); all types when absent. */
  type: z
    .string()
    .optional()
    .transform((s) => (s ?? "").split(/[\s,]+/).filter((t) => t !== ""))
    .pipe(z.array(z.string().regex(/^[a-z0-9|_-]{1,64}$/, "a MISP attribute type such as ip-dst")).max(20)),
  /** Only attributes flagged (true) or not flagged (false) for detection. */
  to_ids: z
    .enum(["true", "false"])
    .optional()
    .transform((s) => (s === undefined ? undefined : s === "true")),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  max_pages: z.coerce.number().int().min(1).max(20).default(10),
});
type Search = z.infer<typeof SearchInput>;

const query = (input: Search, page: number) => ({
  value: input.value,
  type: input.type,
  ...(input.to_ids === undefined ? {} : { to_ids: input.to_ids }),
  limit: input.limit,
  page,
});

export const searchAttributes = action({
  classification: "enrich",
  // A search: read-only, however often it is sent.
  idempotent: true,
  description:
    "Search MISP attributes by value (optionally by type and to_ids): the matches with event ids, tags and to_ids",
  input: SearchInput,
  run: async (client: MispClient, { input, signal }) => {
    const matches: MispMatch[] = [];
    let pages = 0;
    let full: boolean;
    do {
      const page = await client.page(query(input, ++pages), signal);
      matches.push(...page.map(matchOf));
      full = page.length >= input.limit;
    } while (full && pages < input.max_pages);
    return {
      value: input.value,
      found: matches.length > 0,
      count: matches.length,
      to_ids_count: matches.filter((m) => m.to_ids).length,
      event_ids: [...new Set(matches.map((m) => m.event_id))],
      tags: [...new Set(matches.flatMap((m) => m.tags))],
      pages,
      /** More matches than max_pages × limit: the list stops there. */
      truncated: full,
      matches,
    };
  },
  preview: (input) => [searchRequest(query(input, 1))],
});
