/** One IP address or CIDR block in its canonical spelling, as PAN-OS registers and Riposte's guards compare it. */
import { isIP } from "node:net";
import { z } from "zod";
import { canonicalIp, parseCidr } from "../../protected.ts";

const hex = (n: bigint) => Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));

/**
 * The canonical text of an IP or CIDR block, or undefined: dotted quads and RFC 5952 IPv6 (node:net decides what
 * is an address; loose IPv4 spellings such as `010.1` are refused), IPv4-mapped IPv6 as IPv4, host bits of a block
 * cleared, a full-length block as the plain address.
 */
export function canonicalIpOrCidr(raw: string): string | undefined {
  const s = raw.trim();
  if (!s.includes("/")) return isIP(s) === 0 ? undefined : canonicalIp(s);
  if (isIP(s.slice(0, s.indexOf("/"))) === 0) return undefined;
  const c = parseCidr(s);
  if (!c) return undefined;
  if (c.v === 4) {
    const ip = [24n, 16n, 8n, 0n].map((b) => String((c.base >> b) & 0xffn)).join(".");
    return c.bits === 32 ? ip : `${ip}/${c.bits}`;
  }
  const ip = canonicalIp(hex(c.base).join(":")) as string;
  return c.bits === 128 ? ip : `${ip}/${c.bits}`;
}

/** A zod field: an IP or CIDR block, canonicalised; anything else is refused with what was given. */
export const IpOrCidr = z
  .string()
  .max(100)
  .transform((s, ctx) => {
    const c = canonicalIpOrCidr(s);
    if (c !== undefined) return c;
    ctx.addIssue({ code: "custom", message: `"${s.slice(0, 60)}" is not an IP address or CIDR block` });
    return z.NEVER;
  });
