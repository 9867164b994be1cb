/**
 * Operators that security matching needs beyond json-rules-engine's defaults. Pure; patterns are compiled once.
 *
 * Each operator is written once, as `prepareOperator(name, value)`: the condition's value is turned into a test of
 * the fact value ahead of time (pattern compiled, list resolved, lower-cased), so the compiled engine evaluates
 * without allocating. json-rules-engine gets the same code through `customOperators`.
 */
import { BlockList, isIP } from "node:net";
import { IndicatorList } from "./lists.ts";
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
const wildcardOf = cached(
  (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
      "is",
    ),
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
      const patterns = strings(value).map(wildcardOf);
      const tests = patterns.map((re) => (s: string) => re.test(s));
      return (f) => {
        for (const test of tests) if (anyString(f, test)) return true;
        return false;
      };
    }
    case "cidr": {
      const list = blockListOf(strings(value).join(","));
      const test = (s: string) => {
        const fam = isIP(s);
        return fam !== 0 && list.check(s, fam === 6 ? "ipv6" : "ipv4");
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
