/** The EDL actions' inputs (an IP or CIDR entry, canonicalised; a list name; a TTL) and their resolved target. */
import { z } from "zod";
import { parseDuration } from "../../../../schemas/duration.ts";
import { EDL_MAX_TTL_MS, EDL_NAME, canonicalEntry } from "./list.ts";
import type { EdlClient } from "./transport.ts";

const Entry = z.string().transform((s, ctx) => {
  const entry = canonicalEntry(s);
  if (entry !== undefined) return entry;
  ctx.addIssue({ code: "custom", message: `"${s.slice(0, 100)}" is not an IP address or CIDR block` });
  return z.NEVER;
});

const List = z.string().regex(EDL_NAME, "a list name is 1-64 lower-case letters, digits, '_' or '-'").default("block");

export const BlockInput = z.strictObject({
  /** An IP address or CIDR block, canonicalised (IPv4-mapped IPv6 becomes IPv4). */
  ip: Entry,
  list: List,
  /** How long the entry stays listed: the step's lease TTL in the shipped playbook (default 24h, at most 30d). */
  ttl: z
    .string()
    .default("24h")
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === undefined || ms > EDL_MAX_TTL_MS) {
        ctx.addIssue({ code: "custom", message: `ttl must be a duration from 1ms to 30d, got "${s}"` });
        return z.NEVER;
      }
      return ms;
    }),
  /** Why (kept in the audit record through the params; not served). */
  reason: z.string().max(2000).optional(),
});

export const UnblockInput = z.strictObject({ ip: Entry, list: List, reason: z.string().max(2000).optional() });

/** What guards check: the canonical entry (a protected address spelled as IPv4-mapped IPv6 is still caught). */
export const resolveEntry = async (_c: EdlClient, { input }: { input: { ip: string; list: string } }) => ({
  id: input.ip,
  ips: [input.ip],
  detail: { list: input.list, entry: input.ip },
});
