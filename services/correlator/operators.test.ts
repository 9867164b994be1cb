/**
 * The custom operators' prepared tests against their plain definitions: cidr as node:net's BlockList decides it
 * (IPv4 blocks are numeric ranges; IPv4-mapped IPv6 addresses still match them), a list of wildcards as any one of
 * them (one combined pattern).
 */
import assert from "node:assert/strict";
import { BlockList, isIP } from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import { backtrackSafe, checkOperatorValue, globMatch, prepareOperator } from "./operators.ts";

const lists = new Map<string, ReadonlySet<string>>();

/** The cidr operator as BlockList decides it, entry by entry. */
function cidrReference(cidrs: readonly string[], s: unknown): boolean {
  if (typeof s !== "string") return false;
  const list = new BlockList();
  for (const c of cidrs.join(",").split(",")) {
    const [addr, bits] = c.trim().split("/");
    const type = isIP(addr ?? "") === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr as string, type);
    else list.addSubnet(addr as string, Number(bits), type);
  }
  const fam = isIP(s);
  return fam !== 0 && list.check(s, fam === 6 ? "ipv6" : "ipv4");
}

const octet = fc.oneof(fc.constantFrom(0, 1, 9, 10, 127, 128, 192, 255), fc.integer({ min: 0, max: 255 }));
const v4 = fc.tuple(octet, octet, octet, octet).map((xs) => xs.join("."));
// Addresses near the blocks' edges, odd spellings, IPv6 and IPv4-mapped IPv6 forms, and non-addresses.
const address = fc.oneof(
  v4,
  v4.map((a) => `::ffff:${a}`),
  v4.map((a) => `::FFFF:${a}`),
  fc.ipV6(),
  fc.constantFrom("10.0.0.256", "010.0.0.1", "1.2.3", "1.2.3.4.5", " 10.0.0.1", "10.0.0.1 ", "", "x", "1..2.3"),
  fc.string({ maxLength: 8 }),
);
const block = fc.oneof(
  v4,
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, b]) => `${a}/${b}`),
  fc.constantFrom("10.0.0.0/8", "192.168.0.0/16", "10.1.2.3/31", "0.0.0.0/0", "255.255.255.255/32"),
);
const v6Block = fc.constantFrom("::ffff:0:0/96", "::ffff:10.0.0.0/104", "2001:db8::/32", "::1");

test("cidr: the same answers as BlockList, for IPv4 blocks (numeric ranges) and lists with IPv6 blocks", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof({ weight: 5, arbitrary: block }, { weight: 1, arbitrary: v6Block }), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.array(address, { minLength: 1, maxLength: 12 }),
      (cidrs, addresses) => {
        const prepared = prepareOperator("cidr", cidrs, lists);
        for (const a of addresses) assert.equal(prepared(a), cidrReference(cidrs, a), `${a} in ${cidrs.join(",")}`);
        // A list fact matches when one of its strings does.
        const any = addresses.some((a) => cidrReference(cidrs, a));
        assert.equal(prepared(addresses), any);
      },
    ),
    { numRuns: 500 },
  );
  const p = prepareOperator("cidr", ["10.0.0.0/8", "10.255.0.0/16", "192.168.1.1"], lists);
  assert.deepEqual(
    ["10.0.0.0", "10.255.255.255", "11.0.0.0", "9.255.255.255", "192.168.1.1", "192.168.1.2", "::ffff:10.1.2.3"].map(p),
    [true, true, false, false, true, false, true],
  );
});

test("wildcard: a list of patterns matches what one of its patterns matches, without case, `*` and `?` only", () => {
  const one = (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
      "is",
    );
  const piece = fc.stringMatching(/^[a-c*?.|()\\[\]^$+{}\nA-C]{0,6}$/);
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 4 }),
      fc.array(fc.oneof(fc.stringMatching(/^[a-cA-C.|()\n]{0,8}$/), fc.string({ maxLength: 4 })), { maxLength: 6 }),
      (patterns, subjects) => {
        const prepared = prepareOperator("wildcard", patterns, lists);
        for (const s of subjects) {
          const want = patterns.some((p) => one(p).test(s));
          assert.equal(prepared(s), want, `${JSON.stringify(s)} against ${JSON.stringify(patterns)}`);
        }
      },
    ),
    { numRuns: 500 },
  );
  assert.equal(prepareOperator("wildcard", [], lists)("x"), false);
  assert.equal(prepareOperator("wildcard", 5, lists)("5"), false);
});

test("regex: patterns V8 would backtrack on are matched by RE2, in linear time, with the same answers", () => {
  for (const p of ["(a+)+$", "(a|aa)*b", "(.*a){12}", "((ab)*c)*d", "(x+x+)+y", ".*.*.*=", "(?:a|b)+c"])
    assert.equal(backtrackSafe(p), false, p);
  for (const p of [
    "^mimi",
    "powershell(\\.exe)?\\s+-enc",
    "(\\d{1,3}\\.){3}\\d{1,3}",
    "[a-z]+@[a-z.]+",
    "(cmd|pwsh)\\.exe",
    "a{2,}b*",
  ])
    assert.equal(backtrackSafe(p), true, p);
  // Each of these takes V8 seconds to years on this string; here it is one linear pass.
  const hostile = `${"a".repeat(50_000)}!`;
  for (const p of ["(a+)+$", "(a|aa)*b", "(.*a){12}$", ".*.*.*="]) {
    const t = prepareOperator("regex", p, new Map());
    assert.equal(t(hostile), false, p);
    assert.equal(t(["x", "aab"]), new RegExp(p).test("x") || new RegExp(p).test("aab"), p);
  }
  // A long string goes to RE2 even for a safe pattern, with the answer V8 gives.
  const long = `${"x".repeat(5_000)}mimikatz`;
  assert.equal(prepareOperator("regex", "mimi[k]atz$", new Map())(long), true);
});

test("regex: backreferences and lookaround fail the rule file with the reason", () => {
  for (const p of ["(a)\\1", "(?<=a)b", "a(?!b)"]) {
    const why = checkOperatorValue("regex", p, new Map());
    assert.match(why ?? "", /RE2 syntax/, p);
  }
  assert.equal(checkOperatorValue("regex", "^ok(\\d+)?$", new Map()), undefined);
});

test("property: the linear glob match answers as the wildcard's pattern does", () => {
  const text = fc.string({ unit: fc.constantFrom("a", "b", "A", ".", "\n"), maxLength: 12 });
  const pattern = fc.string({ unit: fc.constantFrom("a", "b", "*", "?", "."), maxLength: 8 });
  fc.assert(
    fc.property(pattern, text, (p, s) => {
      const source = p
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
      assert.equal(
        globMatch(p.toLowerCase(), s.toLowerCase()),
        new RegExp(`^(?:${source})$`, "is").test(s),
        `${p} ${s}`,
      );
    }),
    { numRuns: 3000 },
  );
});

test("wildcard: many stars on a long hostile string are one linear pass, with the pattern's answer", () => {
  const t = prepareOperator("wildcard", ["*a*a*a*a*a*b", "*\\powershell.exe"], new Map());
  assert.equal(t(`${"a".repeat(100_000)}!`), false);
  assert.equal(t(`${"a".repeat(5_000)}b`), true);
  assert.equal(t(`C:\\Windows\\${"x".repeat(3_000)}\\PowerShell.EXE`), true, "case-insensitive on the long path too");
});
