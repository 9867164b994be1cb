/**
 * Protected assets: hosts, users, IPs and CIDRs the executor never contains, whatever a rule says. Everything is
 * compared in canonical form, because an attacker (or a vendor) spells the same asset many ways:
 * - addresses as addresses: `::ffff:10.0.0.1`, `::ffff:a00:1` and `0:0:0:0:0:ffff:a00:1` are 10.0.0.1; IPv6 in
 *   its RFC 5952 form; brackets and zone ids dropped; loose IPv4 spellings (`010.0.0.1`, `10.1`) are checked both
 *   as inet_aton reads them and as decimal, so either reading that hits a protected address refuses;
 * - host names lower-case, without trailing dots; a bare name (`dc01`) matches the first label of a qualified one
 *   (`DC01.corp.example.`) either way round, since a short name cannot tell which domain it means;
 * - users lower-case; a bare protected name (`administrator`) also matches `CORP\Administrator` and
 *   `administrator@corp.example`.
 * Pure: no I/O here except {@link loadProtectedFile}.
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { z } from "zod";
import type { Target } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { issuesOf, parseDoc } from "../shared/rulefiles.ts";

/** An address as the executor compares it: version and value. */
interface Addr {
  readonly v: 4 | 6;
  readonly n: bigint;
}

function v4Bits(dotted: string): bigint {
  // Added up as a number (32 bits fit exactly), one BigInt at the end instead of one per octet.
  let n = 0;
  for (const part of dotted.split(".")) n = n * 256 + Number(part);
  return BigInt(n);
}

/** The 128 bits of an IPv6 address in the form WHATWG URL prints (hex groups, at most one `::`). */
function v6Bits(canonical: string): bigint {
  const [head = "", tail] = canonical.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** An IPv6 value that is an IPv4-mapped address (`::ffff:0:0/96`) becomes that IPv4 address. */
function unmap(a: Addr): Addr {
  return a.v === 6 && a.n >> 32n === 0xffffn ? { v: 4, n: a.n - MAPPED_PREFIX } : a;
}

/** Every address a text may mean (several for loose IPv4 spellings); empty when it is not an address. */
export function addressesOf(raw: string): Addr[] {
  let s = raw.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const kind = isIP(s);
  if (kind === 4) return [{ v: 4, n: v4Bits(s) }];
  if (kind === 6) {
    const host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
    return [unmap({ v: 6, n: v6Bits(host) })];
  }
  // Loose IPv4 (octal, hex, fewer parts): what inet_aton and URL parsers read, and the decimal reading too.
  if (!/^[0-9a-fA-FxX.]+$/.test(s) || !/^(0[xX])?[0-9]/.test(s)) return [];
  const out: Addr[] = [];
  try {
    const host = new URL(`http://${s}/`).hostname;
    if (isIP(host) === 4) out.push({ v: 4, n: v4Bits(host) });
  } catch {
    /* not an address in that reading */
  }
  const parts = s.split(".");
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255))
    out.push({ v: 4, n: v4Bits(parts.map(Number).join(".")) });
  return out;
}

/** The canonical text of an address (dotted quad, or RFC 5952 IPv6), or undefined. */
export function canonicalIp(raw: string): string | undefined {
  const a = addressesOf(raw)[0];
  if (!a) return undefined;
  if (a.v === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.n >> s) & 0xffn)).join(".");
  const hex = Array.from({ length: 8 }, (_, i) => ((a.n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return new URL(`http://[${hex.join(":")}]/`).hostname.slice(1, -1);
}

interface Cidr {
  readonly v: 4 | 6;
  readonly base: bigint;
  readonly bits: number;
}

/** A CIDR block (`10.0.0.0/8`, `fd00::/8`, `::ffff:10.0.0.0/104`), or undefined. */
export function parseCidr(raw: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(raw.trim());
  if (!m) return undefined;
  const addr = isIP((m[1] as string).replace(/^\[|\]$/g, "")) ? addressesOf(m[1] as string)[0] : undefined;
  let bits = Number(m[2]);
  if (!addr) return undefined;
  const mappedV6 = addr.v === 4 && isIP((m[1] as string).replace(/^\[|\]$/g, "")) === 6;
  if (mappedV6) {
    if (bits < 96) return undefined;
    bits -= 96;
  }
  const width = addr.v === 4 ? 32 : 128;
  if (bits > width) return undefined;
  const shift = BigInt(width - bits);
  return { v: addr.v, base: (addr.n >> shift) << shift, bits };
}

function inCidr(a: Addr, c: Cidr): boolean {
  if (a.v !== c.v) return false;
  const shift = BigInt((c.v === 4 ? 32 : 128) - c.bits);
  return (a.n >> shift) << shift === c.base;
}

/** A host name compared case-insensitively, without trailing dots or surrounding space. */
export function canonicalHost(raw: string): string {
  return raw.trim().normalize("NFC").toLowerCase().replace(/\.+$/, "");
}

function hostMatches(candidate: string, entry: string): boolean {
  if (candidate === entry) return true;
  const short = (h: string) => h.split(".")[0] as string;
  return (
    (!entry.includes(".") && short(candidate) === entry) || (!candidate.includes(".") && short(entry) === candidate)
  );
}

/** A user name lower-case, and its bare name without `DOMAIN\` or `@domain`. */
function userForms(raw: string): { full: string; bare: string } {
  const full = raw.trim().normalize("NFC").toLowerCase();
  const afterSlash = full.slice(full.lastIndexOf("\\") + 1);
  const at = afterSlash.indexOf("@");
  return { full, bare: at > 0 ? afterSlash.slice(0, at) : afterSlash };
}

/** What the vendor resolved a target to: the device's names and addresses, the account's names. */
export interface ResolvedAssets {
  readonly hosts?: readonly string[];
  readonly ips?: readonly string[];
  readonly users?: readonly string[];
}

/** Protected assets as declared (file or configuration), before canonicalization. */
export const ProtectedList = z.strictObject({
  hosts: z.array(z.string().min(1).max(255)).default([]),
  users: z.array(z.string().min(1).max(320)).default([]),
  ips: z.array(z.string().min(1).max(64)).default([]),
  cidrs: z.array(z.string().min(1).max(64)).default([]),
});
export type ProtectedList = z.infer<typeof ProtectedList>;

/** Problems of a declared list: addresses and CIDRs that do not parse (a typo must not silently protect nothing). */
export function protectedListProblems(list: ProtectedList): string[] {
  return [
    ...list.ips.filter((ip) => addressesOf(ip).length === 0).map((ip) => `"${ip}" is not an IP address`),
    ...list.cidrs.filter((c) => parseCidr(c) === undefined).map((c) => `"${c}" is not a CIDR block`),
  ];
}

/**
 * `RIPOSTE_PROTECTED`: comma-separated entries, each `host:NAME`, `user:NAME`, `ip:ADDR` or `cidr:BLOCK`; an
 * untyped entry is a CIDR if it has a `/`, an address if it parses as one, else a host name.
 */
export function parseProtectedEntries(text: string): { list: ProtectedList; problems: string[] } {
  const list: ProtectedList = { hosts: [], users: [], ips: [], cidrs: [] };
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const m = /^(host|user|ip|cidr):(.+)$/i.exec(entry);
    const kind = m ? (m[1] as string).toLowerCase() : entry.includes("/") ? "cidr" : isIP(entry) ? "ip" : "host";
    const value = m ? (m[2] as string).trim() : entry;
    ({ host: list.hosts, user: list.users, ip: list.ips, cidr: list.cidrs })[kind]?.push(value);
  }
  return { list, problems: protectedListProblems(list) };
}

/** The protected assets in canonical form; `check*` return why something is protected, or undefined. */
export class ProtectedAssets {
  private readonly hosts: string[];
  private readonly users: Array<{ full: string; bare: string }>;
  private readonly addrs: Addr[];
  private readonly cidrs: Cidr[];

  constructor(...lists: ReadonlyArray<{ readonly [K in keyof ProtectedList]: readonly string[] }>) {
    this.hosts = lists.flatMap((l) => l.hosts.map(canonicalHost));
    this.users = lists.flatMap((l) => l.users.map(userForms));
    this.addrs = lists.flatMap((l) => l.ips.flatMap(addressesOf));
    this.cidrs = lists.flatMap((l) => l.cidrs.map(parseCidr).filter((c): c is Cidr => c !== undefined));
  }

  get size(): number {
    return this.hosts.length + this.users.length + this.addrs.length + this.cidrs.length;
  }

  /** Why an address or host name is protected. */
  private host(value: string): string | undefined {
    // Nothing protected by address: the text is not read as one (most targets, on most deployments).
    const byAddress = this.addrs.length > 0 || this.cidrs.length > 0;
    for (const a of byAddress ? addressesOf(value) : []) {
      if (this.addrs.some((p) => p.v === a.v && p.n === a.n)) return `address ${canonicalIp(value) ?? value}`;
      const c = this.cidrs.find((b) => inCidr(a, b));
      if (c) return `address ${canonicalIp(value) ?? value} (in a protected CIDR block)`;
    }
    if (this.hosts.length === 0) return undefined;
    const h = canonicalHost(value);
    if (h !== "" && this.hosts.some((p) => hostMatches(h, p))) return `host ${h}`;
    return undefined;
  }

  private user(value: string): string | undefined {
    if (this.users.length === 0) return undefined;
    const u = userForms(value);
    // A protected entry without a domain protects that name in every domain.
    const hit = this.users.some((p) => p.full === u.full || (p.full === p.bare && p.bare === u.bare));
    return hit ? `user ${u.full}` : undefined;
  }

  /** Checks a decision's target. */
  checkTarget(target: Target): string | undefined {
    switch (target.type) {
      case "host":
      case "ip":
      case "domain":
        return this.host(target.value);
      case "user":
      case "email":
        return this.user(target.value);
      default:
        return undefined;
    }
  }

  /** Checks what the vendor resolved the target to (the device the EDR found, the account the IdP found). */
  checkResolved(r: ResolvedAssets): string | undefined {
    for (const h of [...(r.hosts ?? []), ...(r.ips ?? [])]) {
      const why = this.host(h);
      if (why) return why;
    }
    for (const u of r.users ?? []) {
      const why = this.user(u);
      if (why) return why;
    }
    return undefined;
  }
}

/**
 * Reads the protected-assets file (YAML: hosts, users, ips, cidrs); an absent file protects nothing. A file
 * that does not parse, or lists an address that is not one, stops the executor at start.
 */
export async function loadProtectedFile(path: string): Promise<ProtectedList> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { hosts: [], users: [], ips: [], cidrs: [] };
    throw e;
  }
  const parsed = ProtectedList.safeParse(parseDoc(path, text) ?? {});
  if (!parsed.success) throw new RiposteError("RIPOSTE_RULE_INVALID", issuesOf(path, parsed.error));
  const problems = protectedListProblems(parsed.data);
  if (problems.length > 0) throw new RiposteError("RIPOSTE_RULE_INVALID", `${path}: ${problems.join("; ")}`);
  return parsed.data;
}
