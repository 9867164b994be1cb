/**
 * Operators that security matching needs beyond json-rules-engine's defaults. Pure; patterns are compiled once.
 */
import { BlockList, isIP } from "node:net";

export type NamedLists = ReadonlyMap<string, ReadonlySet<string>>;

type OperatorFn = (factValue: unknown, jsonValue: unknown) => boolean;

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

/** True when any fact value (or element) satisfies `test`. */
const anyOf = (factValue: unknown, test: (s: string) => boolean): boolean => strings(factValue).some(test);

/** Builds the custom operators; `lists` are the named lists (IOC sets, allow lists) operators can refer to. */
export function customOperators(lists: NamedLists): Record<string, OperatorFn> {
  return {
    containsi: (f, v) => typeof v === "string" && anyOf(f, (s) => s.toLowerCase().includes(v.toLowerCase())),
    startsWith: (f, v) => typeof v === "string" && anyOf(f, (s) => s.startsWith(v)),
    endsWith: (f, v) => typeof v === "string" && anyOf(f, (s) => s.endsWith(v)),
    regex: (f, v) => typeof v === "string" && anyOf(f, (s) => regexOf(v).test(s)),
    wildcard: (f, v) => strings(v).some((p) => anyOf(f, (s) => wildcardOf(p).test(s))),
    cidr: (f, v) => {
      const list = blockListOf(strings(v).join(","));
      return anyOf(f, (s) => {
        const fam = isIP(s);
        return fam !== 0 && list.check(s, fam === 6 ? "ipv6" : "ipv4");
      });
    },
    inList: (f, v) => {
      const list = typeof v === "string" ? lists.get(v) : undefined;
      return list !== undefined && anyOf(f, (s) => list.has(s.toLowerCase()));
    },
    exists: (f, v) => (f !== undefined && f !== null) === (v !== false),
  };
}

/** Checks a rule's operator values at load time, so a bad pattern fails the rule file, not the stream. */
export function checkOperatorValue(operator: string, value: unknown, lists: NamedLists): string | undefined {
  try {
    if (operator === "regex") strings(value).forEach((p) => regexOf(p));
    if (operator === "cidr") blockListOf(strings(value).join(","));
    if (operator === "inList" && (typeof value !== "string" || !lists.has(value))) {
      return `inList refers to list "${String(value)}", which is not in rules/lists/`;
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return undefined;
}
