/**
 * Named lists matched canonically: IPs and CIDR blocks (v4 and v6) as addresses, host names and domains without case
 * or trailing dot (with `*.example.com` suffix entries), hashes without case, URLs with scheme and host lower-cased.
 * Pure. Exact values are one Set lookup; a CIDR test is one lookup per prefix length the list holds (at most 33 for
 * IPv4, 129 for IPv6); no regular expression runs per event.
 */

/** What an entry is, as `riposte lists show` reports it. */
export type IndicatorType = "ip" | "cidr" | "domain" | "url" | "hash" | "other";

const MAPPED_HI = 0xffff;
const V6_ALL = (1n << 128n) - 1n;

/**
 * Parses a dotted quad into an unsigned 32-bit number, or -1. Strict: four decimal octets without leading zeros
 * (`010.0.0.1` is refused: resolvers read it as octal). A char loop, not a pattern: this runs on every event.
 */
export function parseV4(s: string, start = 0, end = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Hextets of an IPv6 address (with an optional dotted-quad tail) into `out`; false when it is not one. */
function parseV6(s: string, out: Uint16Array): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  out.fill(0);
  let gap = -1;
  let count = 0;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) return true;
  }
  while (i < n) {
    if (count >= 8) return false;
    let j = i;
    let v = 0;
    while (j < n && j - i < 5) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // A dotted-quad tail takes the last two hextets.
      const v4 = parseV4(s, i, n);
      if (v4 < 0 || count > 6) return false;
      out[count++] = v4 >>> 16;
      out[count++] = v4 & 0xffff;
      break;
    }
    if (j === i || j - i > 4) return false;
    out[count++] = v;
    if (j === n) break;
    if (s.charCodeAt(j) !== 58) return false;
    if (j + 1 < n && s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i = j + 2;
      if (i === n) break;
    } else {
      i = j + 1;
      if (i === n) return false;
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  const tail = count - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[count - 1 - k] as number;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** An address: IPv4 (including IPv4-mapped IPv6) as a number, other IPv6 as a bigint. */
type Addr = { v: 4; n: number } | { v: 6; n: bigint };

const hextets = new Uint16Array(8);
// What the last addrKind call parsed; module state rather than an object, so that a lookup does not allocate.
let lastV4 = 0;
let lastV6 = 0n;

/**
 * Parses `s` as an address: 4 (the address, unsigned, in `lastV4`; IPv4-mapped IPv6 such as `::ffff:10.0.0.1` and
 * `::ffff:a00:1` counts as IPv4), 6 (in `lastV6`) or 0 when it is not one.
 */
function addrKind(s: string): 0 | 4 | 6 {
  const c0 = s.charCodeAt(0);
  if (s.indexOf(":") < 0) {
    if (c0 < 48 || c0 > 57) return 0;
    lastV4 = parseV4(s);
    return lastV4 < 0 ? 0 : 4;
  }
  if (!parseV6(s, hextets)) return 0;
  if (hextets[0] === 0 && hextets[1] === 0 && hextets[2] === 0 && hextets[3] === 0 && hextets[4] === 0) {
    if (hextets[5] === MAPPED_HI) {
      lastV4 = (hextets[6] as number) * 65536 + (hextets[7] as number);
      return 4;
    }
  }
  let n = 0n;
  for (let k = 0; k < 8; k++) n = (n << 16n) | BigInt(hextets[k] as number);
  lastV6 = n;
  return 6;
}

/** The address `s` spells, or undefined (see addrKind). */
function parseAddr(s: string): Addr | undefined {
  const k = addrKind(s);
  return k === 4 ? { v: 4, n: lastV4 } : k === 6 ? { v: 6, n: lastV6 } : undefined;
}

const v4Mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
const v6Mask = (bits: number) => (bits === 0 ? 0n : V6_ALL ^ ((1n << BigInt(128 - bits)) - 1n));
const MAPPED_NET = 0xffffn << 32n;

/** A CIDR block, IPv4-mapped IPv6 blocks (`::ffff:10.0.0.0/104`) as IPv4; undefined when `s` is not one. */
function parseCidr(s: string): (Addr & { bits: number }) | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const bitsText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const a = parseAddr(s.slice(0, slash));
  if (!a) return undefined;
  if (a.v === 4) {
    // A mapped address written with a v6 prefix length (`::ffff:10.0.0.0/104`).
    const b = s.slice(0, slash).includes(":") ? bits - 96 : bits;
    if (b < 0 || b > 32) return undefined;
    return { v: 4, n: (a.n & v4Mask(b)) >>> 0, bits: b };
  }
  if (bits > 128) return undefined;
  return { v: 6, n: a.n & v6Mask(bits), bits };
}

const v4Text = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** RFC 5952 text of a 128-bit address (longest run of two or more zero hextets as `::`, lower case). */
function v6Text(n: bigint): string {
  const h = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (h[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = h.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** Lower case without trailing dots: how host names and domains compare. */
function hostForm(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 46) end--;
  const t = end === s.length ? s : s.slice(0, end);
  return t.toLowerCase();
}

/**
 * A URL with its scheme and host lower-cased (and the host's trailing dot dropped); the rest as given. Undefined
 * when `s` has no `scheme://`.
 */
function urlForm(s: string): string | undefined {
  const sep = s.indexOf("://");
  if (sep <= 0) return undefined;
  const authEnd = (() => {
    for (let i = sep + 3; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 47 || c === 63 || c === 35) return i;
    }
    return s.length;
  })();
  const auth = s.slice(sep + 3, authEnd);
  const at = auth.lastIndexOf("@");
  const user = at < 0 ? "" : auth.slice(0, at + 1);
  let hostPort = at < 0 ? auth : auth.slice(at + 1);
  let port = "";
  const colon = hostPort.lastIndexOf(":");
  if (colon >= 0 && !hostPort.endsWith("]") && hostPort.indexOf(":") === colon) {
    port = hostPort.slice(colon);
    hostPort = hostPort.slice(0, colon);
  }
  return `${s.slice(0, sep).toLowerCase()}://${user}${hostForm(hostPort)}${port}${s.slice(authEnd)}`;
}

const HEX = /^[0-9a-f]+$/;
const HASH_LENGTHS = new Set([32, 40, 64, 128]);
const HOST = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** An entry in canonical form with its type. */
export interface Indicator {
  readonly value: string;
  readonly type: IndicatorType;
}

/**
 * The canonical form of a list entry and its type; `other` for a value that is none of the known kinds (kept lower
 * case, as lists in rules/lists/ always compared). Undefined for an empty value.
 */
export function canonicalIndicator(raw: string): Indicator | undefined {
  const s = raw.trim();
  if (s === "") return undefined;
  const url = urlForm(s);
  if (url !== undefined) return { value: url, type: "url" };
  if (s.includes("/")) {
    const c = parseCidr(s);
    if (c) {
      if (c.v === 4)
        return c.bits === 32 ? { value: v4Text(c.n), type: "ip" } : { value: `${v4Text(c.n)}/${c.bits}`, type: "cidr" };
      return c.bits === 128 ? { value: v6Text(c.n), type: "ip" } : { value: `${v6Text(c.n)}/${c.bits}`, type: "cidr" };
    }
  }
  const a = parseAddr(s);
  if (a) return { value: a.v === 4 ? v4Text(a.n) : v6Text(a.n), type: "ip" };
  const h = hostForm(s);
  if (HASH_LENGTHS.has(h.length) && HEX.test(h)) return { value: h, type: "hash" };
  if (HOST.test(h)) return { value: h, type: "domain" };
  return { value: h, type: "other" };
}

/**
 * The indexes one list's entries compile to. IPv4 keys are signed 32-bit (`n | 0`, what `&` gives): small integers
 * hash faster than heap numbers.
 */
interface Index {
  readonly v4: Set<number>;
  readonly v6: Set<bigint>;
  /** IPv4 blocks by prefix length, longest first: `v4Masks[k]` and the network numbers under it, `v4Sets[k]`. */
  readonly v4Masks: Int32Array;
  readonly v4Sets: ReadonlyArray<Set<number>>;
  readonly v6Nets: ReadonlyArray<readonly [bigint, Set<bigint>]>;
  /** Host names, domains, hashes, URLs and other strings in canonical form. */
  readonly exact: Set<string>;
  /** `*.example.com` entries as `example.com`. */
  readonly suffixes: Set<string>;
  readonly size: number;
}

function buildIndex(values: Iterable<string>): Index {
  const v4 = new Set<number>();
  const v6 = new Set<bigint>();
  const v4ByBits = new Map<number, Set<number>>();
  const v6ByBits = new Map<number, Set<bigint>>();
  const exact = new Set<string>();
  const suffixes = new Set<string>();
  let implied = false;
  for (const raw of values) {
    const e = canonicalIndicator(raw);
    if (!e) continue;
    if (e.type === "ip") {
      const a = parseAddr(e.value) as Addr;
      if (a.v === 4) v4.add(a.n | 0);
      else v6.add(a.n);
    } else if (e.type === "cidr") {
      const c = parseCidr(e.value) as Addr & { bits: number };
      if (c.v === 4) {
        let set = v4ByBits.get(c.bits);
        if (!set) v4ByBits.set(c.bits, (set = new Set()));
        set.add(c.n | 0);
      } else {
        let set = v6ByBits.get(c.bits);
        if (!set) v6ByBits.set(c.bits, (set = new Set()));
        set.add(c.n);
        // A v6 block that holds all of ::ffff:0:0/96 also holds every IPv4 address.
        if (c.bits <= 96 && (MAPPED_NET & v6Mask(c.bits)) === c.n) {
          implied ||= !v4ByBits.get(0)?.has(0);
          let all = v4ByBits.get(0);
          if (!all) v4ByBits.set(0, (all = new Set()));
          all.add(0);
        }
      }
    } else if (e.type === "domain" && e.value.startsWith("*.")) suffixes.add(e.value.slice(2));
    else exact.add(e.value);
  }
  const desc = <T>(m: Map<number, T>) => [...m].sort((a, b) => b[0] - a[0]);
  return {
    v4,
    v6,
    v4Masks: Int32Array.from(desc(v4ByBits).map(([bits]) => v4Mask(bits) | 0)),
    v4Sets: desc(v4ByBits).map(([, set]) => set),
    v6Nets: desc(v6ByBits).map(([bits, set]) => [v6Mask(bits), set] as const),
    exact,
    suffixes,
    size:
      v4.size +
      v6.size +
      exact.size +
      suffixes.size +
      [...v4ByBits.values(), ...v6ByBits.values()].reduce((n, set) => n + set.size, 0) -
      // The IPv4 /0 a covering v6 block adds is not an entry of its own.
      (implied ? 1 : 0),
  };
}

/**
 * A named list: the entries of its file in rules/lists/ and those imported into state, matched canonically. The
 * imported part is replaced in place (`setImported`), so rules compiled against the list see new entries without
 * being compiled again.
 */
export class IndicatorList {
  private readonly fileValues: readonly string[];
  private index: Index;

  constructor(fileValues: Iterable<string> = []) {
    this.fileValues = [...fileValues];
    this.index = buildIndex(this.fileValues);
  }

  /** Replaces the imported entries (merged with the file's). */
  setImported(values: Iterable<string>): void {
    const all = this.fileValues.slice();
    for (const v of values) all.push(v);
    this.index = buildIndex(all);
  }

  /** How many distinct canonical entries the list holds. */
  get size(): number {
    return this.index.size;
  }

  /** True when `value` is an entry, or an address inside a CIDR entry, or a host under a `*.` entry. */
  has(value: string): boolean {
    const x = this.index;
    const c0 = value.charCodeAt(0);
    // Only what starts like an address is parsed as one (digits, hex or `:`); the rest goes to the string sets.
    if ((c0 >= 48 && c0 <= 57) || c0 === 58 || ((c0 | 32) >= 97 && (c0 | 32) <= 102 && value.indexOf(":") >= 0)) {
      const kind = addrKind(value);
      if (kind === 4) {
        const n = lastV4 | 0;
        if (x.v4.has(n)) return true;
        const masks = x.v4Masks;
        for (let k = 0; k < masks.length; k++)
          if ((x.v4Sets[k] as Set<number>).has(n & (masks[k] as number))) return true;
        return false;
      }
      if (kind === 6) {
        const n = lastV6;
        if (x.v6.has(n)) return true;
        for (const [mask, set] of x.v6Nets) if (set.has(n & mask)) return true;
        return false;
      }
    }
    const url = value.indexOf("://") > 0 ? urlForm(value) : undefined;
    const s = url ?? hostForm(value);
    if (x.exact.has(s)) return true;
    if (url !== undefined || x.suffixes.size === 0) return false;
    for (let i = s.indexOf("."); i >= 0; i = s.indexOf(".", i + 1)) if (x.suffixes.has(s.slice(i + 1))) return true;
    return false;
  }
}

/** The type of a canonical entry (as stored), for reports. */
export function typeOf(value: string): IndicatorType {
  return canonicalIndicator(value)?.type ?? "other";
}
