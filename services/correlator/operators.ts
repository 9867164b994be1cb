/**
 * Operators that security matching needs beyond json-rules-engine's defaults. Pure; patterns are compiled once.
 *
 * Each operator is written once, as `prepareOperator(name, value)`: the condition's value is turned into a test of
 * the fact value ahead of time (pattern compiled, list resolved, lower-cased), so the compiled engine evaluates
 * without allocating. json-rules-engine gets the same code through `customOperators`.
 */
import { BlockList, isIP } from "node:net";
import { RE2JS } from "re2js";
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

/** Longest string V8's backtracking engine is given, for a pattern it runs in bounded time (see backtrackSafe). */
export const BACKTRACK_MAX_CHARS = 2048;

/**
 * Whether V8's backtracking engine runs `p` in bounded time: no quantified group holding a quantifier or an
 * alternation (`(a+)+`, `(a|aa)*`: exponential), no repeated group holding an unbounded one (`(.*a){12}`), at
 * most two unbounded quantifiers (each one multiplies the work by
 * the length; with the length capped at BACKTRACK_MAX_CHARS two stay within a few million steps), no backreference.
 * A pattern that fails this, and any string longer than the cap, is matched by RE2 (re2js), in linear time.
 */
export function backtrackSafe(p: string): boolean {
  type Group = { quantified: boolean; alternation: boolean; unbounded: boolean };
  const groups: Group[] = [{ quantified: false, alternation: false, unbounded: false }];
  let unbounded = 0;
  // The quantifier at `i`, if any: its length and whether it is unbounded.
  const quantifierAt = (i: number): { len: number; unbounded: boolean; repeats: boolean } | undefined => {
    const c = p[i];
    const lazy = p[i + 1] === "?" ? 2 : 1;
    if (c === "*" || c === "+") return { len: lazy, unbounded: true, repeats: true };
    if (c === "?") return { len: lazy, unbounded: false, repeats: false };
    if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}\??/.exec(p.slice(i, i + 24));
      if (m) {
        const unbounded = m[2] !== undefined && m[3] === "";
        const max = unbounded ? Infinity : Number(m[3] ?? m[1]);
        return { len: m[0].length, unbounded, repeats: max > 1 };
      }
    }
    return undefined;
  };
  let i = 0;
  while (i < p.length) {
    const c = p[i] as string;
    const top = groups[groups.length - 1] as Group;
    let atomEnd = i + 1;
    let inner: Group | undefined;
    if (c === "\\") {
      const n = p[i + 1] ?? "";
      if (/[1-9k]/.test(n)) return false;
      atomEnd = i + 2;
    } else if (c === "[") {
      let j = i + 1;
      if (p[j] === "^") j++;
      if (p[j] === "]") j++;
      while (j < p.length && p[j] !== "]") j += p[j] === "\\" ? 2 : 1;
      atomEnd = j + 1;
    } else if (c === "(") {
      groups.push({ quantified: false, alternation: false, unbounded: false });
      i++;
      continue;
    } else if (c === ")") {
      inner = groups.pop();
      if (!inner || groups.length === 0) return false;
    } else if (c === "|") {
      top.alternation = true;
      i++;
      continue;
    }
    const q = quantifierAt(atomEnd);
    const parent = groups[groups.length - 1] as Group;
    if (inner) {
      if (q?.unbounded && (inner.quantified || inner.alternation)) return false;
      if (q?.repeats && inner.unbounded) return false;
      parent.quantified ||= inner.quantified || q !== undefined;
      parent.alternation ||= inner.alternation;
      parent.unbounded ||= inner.unbounded || q?.unbounded === true;
    } else if (q) {
      parent.quantified = true;
      parent.unbounded ||= q.unbounded;
    }
    if (q?.unbounded) unbounded++;
    i = atomEnd + (q?.len ?? 0);
  }
  return groups.length === 1 && unbounded <= 2;
}

/**
 * A rule's regex as a test that cannot stall the event loop, whatever the string: RE2 semantics (no backreferences
 * or lookaround: such a pattern fails the rule file), run by V8 where that is bounded (short strings, safe patterns)
 * and by RE2 otherwise.
 */
const regexOf = cached((p: string) => {
  const re2 = RE2JS.compile(p);
  const fast = backtrackSafe(p) ? new RegExp(p) : undefined;
  return {
    test: (s: string) => (fast !== undefined && s.length <= BACKTRACK_MAX_CHARS ? fast.test(s) : re2.matcher(s).find()),
  };
});
/** A wildcard's pattern: every character literal but `*` (any run) and `?` (any one). */
const wildcardSource = (p: string) =>
  p
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
/**
 * Whether `s` matches the wildcard `p` (both already lower-cased): the greedy algorithm that goes back only to the
 * last `*`, so O(len(s) x len(p)) at worst, whatever the pattern.
 */
export function globMatch(p: string, s: string): boolean {
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    const c = p[j];
    if (c === "?" || (c !== undefined && c !== "*" && c === s[i])) {
      i++;
      j++;
    } else if (c === "*") {
      star = j++;
      mark = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++mark;
    } else return false;
  }
  while (p[j] === "*") j++;
  return j === p.length;
}

/**
 * A list of wildcards as one test: a string matches when it matches one of them. One combined V8 pattern where that
 * is bounded (strings up to BACKTRACK_MAX_CHARS, at most two `*` in each wildcard: backtracking is polynomial in the
 * stars), the linear glob match of each wildcard otherwise (case-folded with toLowerCase).
 */
const wildcardsOf = cached((ps: string) => {
  const patterns = JSON.parse(ps) as string[];
  const re = new RegExp(`^(?:${patterns.map(wildcardSource).join("|")})$`, "is");
  const bounded = patterns.every((p) => p.split("*").length <= 3);
  const lower = patterns.map((p) => p.toLowerCase());
  return {
    test: (s: string) => {
      if (bounded && s.length <= BACKTRACK_MAX_CHARS) return re.test(s);
      const l = s.toLowerCase();
      return lower.some((p) => globMatch(p, l));
    },
  };
});
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
export function anyString(factValue: unknown, test: (s: string) => boolean): boolean {
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

/** A test of one string, for the operators that test a fact's strings. */
export type StringTest = (s: string) => boolean;

/**
 * For every custom operator but `exists`, which tests the fact's strings (the fact, or its elements when it is a
 * list; see anyString): the string test with its condition value fixed; null when no fact can match (a value the
 * operator cannot use). Throws when the value cannot be compiled (a bad pattern or address).
 */
export function prepareStringTest(
  name: Exclude<CustomOperator, "exists">,
  value: unknown,
  lists: NamedLists,
): StringTest | null {
  switch (name) {
    case "containsi": {
      if (typeof value !== "string") return null;
      const needle = value.toLowerCase();
      return (s) => lower(s).includes(needle);
    }
    case "startsWith":
      return typeof value === "string" ? (s) => s.startsWith(value) : null;
    case "endsWith":
      return typeof value === "string" ? (s) => s.endsWith(value) : null;
    case "regex": {
      if (typeof value !== "string") return null;
      // Compiled on first use, as before: a fact with no string never compiles the pattern.
      let re: { test(s: string): boolean } | undefined;
      return (s) => (re ??= regexOf(value)).test(s);
    }
    case "wildcard": {
      const patterns = strings(value);
      if (patterns.length === 0) return null;
      // One pattern for all of them: a list fact matches when one of its strings matches one of the wildcards.
      const re = wildcardsOf(JSON.stringify(patterns));
      return (s) => re.test(s);
    }
    case "cidr": {
      const cidrs = strings(value).join(",");
      const list = blockListOf(cidrs);
      const slow = (s: string) => {
        const fam = isIP(s);
        return fam !== 0 && list.check(s, fam === 6 ? "ipv6" : "ipv4");
      };
      const ranges = v4RangesOf(cidrs);
      if (ranges === undefined) return slow;
      // A dotted quad (what isIP calls IPv4) against IPv4 blocks: numbers; anything else (an IPv4-mapped IPv6
      // address matches an IPv4 block) as before.
      return (s) => {
        const v = parseV4(s);
        return v >= 0 ? inRanges(ranges, v) : slow(s);
      };
    }
    case "inList": {
      const named = typeof value === "string" ? lists.get(value) : undefined;
      if (named === undefined) return null;
      // The list object itself is kept: its imported entries are replaced in place when the feed changes.
      const list = indicatorListOf(named);
      return (s) => list.has(s);
    }
  }
}

/**
 * The custom operator `name` with its condition value fixed: a test of fact values. Throws when the value cannot
 * be compiled (a bad pattern or address), as the operator would on its first evaluation.
 */
export function prepareOperator(name: CustomOperator, value: unknown, lists: NamedLists): FactTest {
  if (name === "exists") {
    const wanted = value !== false;
    return (f) => (f !== undefined && f !== null) === wanted;
  }
  // Each string test made once, here, not on every evaluation.
  const test = prepareStringTest(name, value, lists);
  return test === null ? never : (f) => anyString(f, test);
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
    if (operator === "regex")
      for (const p of strings(value)) {
        try {
          regexOf(p);
        } catch (e) {
          return `regex ${JSON.stringify(p)}: ${e instanceof Error ? e.message : String(e)} (rule patterns use RE2 syntax, matched in linear time: no backreferences or lookaround)`;
        }
      }
    if (operator === "cidr") blockListOf(strings(value).join(","));
    if (operator === "inList" && (typeof value !== "string" || !lists.has(value))) {
      return `inList refers to list "${String(value)}", which is neither in rules/lists/ nor imported (riposte lists import)`;
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return undefined;
}
