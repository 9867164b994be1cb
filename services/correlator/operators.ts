/**
 * Operators that security matching needs beyond json-rules-engine's defaults. Pure; patterns are compiled once.
 *
 * Each operator is written once, as `prepareOperator(name, value)`: the condition's value is turned into a test of
 * the fact value ahead of time (pattern compiled, list resolved, lower-cased), so the compiled engine evaluates
 * without allocating. json-rules-engine gets the same code through `customOperators`.
 */
import { BlockList, isIP } from "node:net";
import { IndicatorList, parseV4 } from "./lists.ts";
import { CUSTOM_OPERATORS } from "../../schemas/rules.ts";

/**
 * Named lists by name: IndicatorLists (canonical matching, see lists.ts), or plain sets of entries, which are
 * matched the same way (compiled into an IndicatorList once).
 */
export type NamedLists = ReadonlyMap<string, IndicatorList | ReadonlySet<string>>;

const indicatorLists = new WeakMap<ReadonlySet<string>, IndicatorList>();
function indicatorListOf(list: IndicatorList | ReadonlySet<string>): IndicatorList {
  if (list instanceof IndicatorList) return list;
  let l = indicatorLists.get(list);
  if (!l) indicatorLists.set(list, (l = new IndicatorList(list)));
  return l;
}

type OperatorFn = (factValue: unknown, jsonValue: unknown) => boolean;
/** A test of a fact value against a condition value fixed in advance. */
export type FactTest = (factValue: unknown) => boolean;

/** The operators this module adds: the rule schema's list. */
export { CUSTOM_OPERATORS };
export type CustomOperator = (typeof CUSTOM_OPERATORS)[number];

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
const strings = (v: unknown): string[] => asList(v).filter((x): x is string => typeof x === "string");

function cached<K, V>(make: (k: K) => V): (k: K) => V {
  const cache = new Map<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) {
      v = make(k);
      cache.set(k, v);
    }
    return v;
  };
}

const regexOf = cached((p: string) => new RegExp(p));
/** A wildcard's pattern: every character literal but `*` (any run) and `?` (any one). */
const wildcardSource = (p: string) =>
  p
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
/** One pattern for a list of wildcards: a string matches it when it matches one of them. */
const wildcardsOf = cached(
  (ps: string) => new RegExp(`^(?:${(JSON.parse(ps) as string[]).map(wildcardSource).join("|")})$`, "is"),
);
const blockListOf = cached((cidrs: string) => {
  const list = new BlockList();
  for (const c of cidrs.split(",")) {
    const [addr, bits] = c.trim().split("/");
    const family = isIP(addr ?? "");
    if (!addr || family === 0) throw new Error(`"${c}" is not an IP or CIDR`);
    const type = family === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
});

/**
 * The blocks of a cidr list (already accepted by blockListOf) as sorted, merged ranges of IPv4 numbers
 * `[lo0, hi0, lo1, hi1, ...]`; undefined when an entry is not a dotted quad (IPv6 blocks can hold IPv4 addresses).
 */
const v4RangesOf = cached((cidrs: string): Float64Array | undefined => {
  const ranges: [number, number][] = [];
  for (const c of cidrs.split(",")) {
    const [addr, bits] = c.trim().split("/");
    const v = parseV4(addr ?? "");
    if (v < 0) return undefined;
    if (bits === undefined) {
      ranges.push([v, v]);
      continue;
    }
    // blockListOf has refused a prefix that is not an integer from 0 to 32.
    const size = 2 ** (32 - Number(bits));
    const lo = Math.floor(v / size) * size;
    ranges.push([lo, lo + size - 1]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [lo, hi] of ranges) {
    const last = merged.length - 1;
    if (last > 0 && lo <= (merged[last] as number) + 1) merged[last] = Math.max(merged[last] as number, hi);
    else merged.push(lo, hi);
  }
  return Float64Array.from(merged);
});

/** A binary search of the ranges for `v`. */
function inRanges(ranges: Float64Array, v: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (v < (ranges[2 * mid] as number)) hi = mid - 1;
    else if (v > (ranges[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * True when the fact value, or one of its elements when it is a list, is a string that satisfies `test`. An
 * indexed loop rather than filter/some: this runs on every evaluation and must not allocate.
 */
function anyString(factValue: unknown, test: (s: string) => boolean): boolean {
  if (typeof factValue === "string") return test(factValue);
  if (!Array.isArray(factValue)) return false;
  for (let i = 0; i < factValue.length; i++) {
    const x: unknown = factValue[i];
    if (typeof x === "string" && test(x)) return true;
  }
  return false;
}

const never: FactTest = () => false;

// Many rules lower-case the same field of the same event one after the other (containsi, inList): the last two
// strings and their lower case are kept, so that only the first rule pays for the new string.
let lastIn1 = "";
let lastOut1 = "";
let lastIn2 = "";
let lastOut2 = "";
function lower(s: string): string {
  if (s === lastIn1) return lastOut1;
  if (s === lastIn2) return lastOut2;
  lastIn2 = lastIn1;
  lastOut2 = lastOut1;
  lastIn1 = s;
  lastOut1 = s.toLowerCase();
  return lastOut1;
}

/**
 * The custom operator `name` with its condition value fixed: a test of fact values. Throws when the value cannot
 * be compiled (a bad pattern or address), as the operator would on its first evaluation.
 */
export function prepareOperator(name: CustomOperator, value: unknown, lists: NamedLists): FactTest {
  switch (name) {
    case "containsi": {
      if (typeof value !== "string") return never;
      const needle = value.toLowerCase();
      // Each string test made once, here, not on every evaluation.
      const test = (s: string) => lower(s).includes(needle);
      return (f) => anyString(f, test);
    }
    case "startsWith": {
      if (typeof value !== "string") return never;
      const test = (s: string) => s.startsWith(value);
      return (f) => anyString(f, test);
    }
    case "endsWith": {
      if (typeof value !== "string") return never;
      const test = (s: string) => s.endsWith(value);
      return (f) => anyString(f, test);
    }
    case "regex": {
      if (typeof value !== "string") return never;
      // Compiled on first use, as before: a fact with no string never compiles the pattern.
      let re: RegExp | undefined;
      const test = (s: string) => (re ??= regexOf(value)).test(s);
      return (f) => anyString(f, test);
    }
    case "wildcard": {
      const patterns = strings(value);
      if (patterns.length === 0) return never;
      // One pattern for all of them: a list fact matches when one of its strings matches one of the wildcards.
      const re = wildcardsOf(JSON.stringify(patterns));
      const test = (s: string) => re.test(s);
      return (f) => anyString(f, test);
    }
    case "cidr": {
      const cidrs = strings(value).join(",");
      const list = blockListOf(cidrs);
      const slow = (s: string) => {
        const fam = isIP(s);
        return fam !== 0 && list.check(s, fam === 6 ? "ipv6" : "ipv4");
      };
      const ranges = v4RangesOf(cidrs);
      if (ranges === undefined) return (f) => anyString(f, slow);
      // A dotted quad (what isIP calls IPv4) against IPv4 blocks: numbers; anything else (an IPv4-mapped IPv6
      // address matches an IPv4 block) as before.
      const test = (s: string) => {
        const v = parseV4(s);
        return v >= 0 ? inRanges(ranges, v) : slow(s);
      };
      return (f) => anyString(f, test);
    }
    case "inList": {
      const named = typeof value === "string" ? lists.get(value) : undefined;
      if (named === undefined) return never;
      // The list object itself is kept: its imported entries are replaced in place when the feed changes.
      const list = indicatorListOf(named);
      const test = (s: string) => list.has(s);
      return (f) => anyString(f, test);
    }
    case "exists": {
      const wanted = value !== false;
      return (f) => (f !== undefined && f !== null) === wanted;
    }
  }
}

/** The custom operators as json-rules-engine takes them; `lists` are the named lists (IOC sets, allow lists). */
export function customOperators(lists: NamedLists): Record<CustomOperator, OperatorFn> {
  const op = (name: CustomOperator): OperatorFn => {
    return (f, v) => prepareOperator(name, v, lists)(f);
  };
  return Object.fromEntries(CUSTOM_OPERATORS.map((n) => [n, op(n)])) as Record<CustomOperator, OperatorFn>;
}

/** Checks a rule's operator values at load time, so a bad pattern fails the rule file, not the stream. */
export function checkOperatorValue(operator: string, value: unknown, lists: NamedLists): string | undefined {
  try {
    if (operator === "regex") strings(value).forEach((p) => regexOf(p));
    if (operator === "cidr") blockListOf(strings(value).join(","));
    if (operator === "inList" && (typeof value !== "string" || !lists.has(value))) {
      return `inList refers to list "${String(value)}", which is neither in rules/lists/ nor imported (riposte lists import)`;
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return undefined;
}
