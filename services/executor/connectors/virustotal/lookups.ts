/** The four lookups: an IP address, a domain, a URL (by its base64url id) and a file hash. All read-only. */
import { isIP } from "node:net";
import { z } from "zod";
import { canonicalIp } from "../../protected.ts";
import { action } from "../types.ts";
import { vtRequest, vtUrlId, type VirusTotalClient, type VtKind } from "./transport.ts";

const Ip = z
  .string()
  .trim()
  .max(64)
  .refine((s) => isIP(s) !== 0, "an IP address")
  .transform((s) => canonicalIp(s) ?? s);

/** A DNS name (letters, digits, hyphens, IDN in punycode), lower-cased, without a trailing dot. */
const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .transform((s) => s.replace(/\.$/, ""))
  .pipe(
    z
      .string()
      .max(253)
      .regex(
        /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$/,
        "a domain name such as example.com",
      ),
  );

const Url = z
  .string()
  .trim()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  }, "an http(s) URL");

const Hash = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/, "an MD5, SHA-1 or SHA-256 hex digest");

function lookup(kind: VtKind, what: string, value: z.ZodType<string>, id: (v: string) => string) {
  return action({
    classification: "enrich",
    idempotent: true,
    description: `Look ${what} up in VirusTotal: malicious / suspicious / harmless engine counts, reputation, a verdict (found: false when unknown)`,
    input: z.strictObject({ value }),
    run: async (client: VirusTotalClient, { input, signal }) => client.lookup(kind, id(input.value), signal),
    preview: (input) => [vtRequest(kind, id(input.value))],
  });
}

export const lookupIp = lookup("ip_addresses", "an IP address", Ip, (v) => v);
export const lookupDomain = lookup("domains", "a domain", Domain, (v) => v);
export const lookupUrl = lookup("urls", "a URL", Url, (v) => vtUrlId(v));
export const lookupHash = lookup("files", "a file hash", Hash, (v) => v);
