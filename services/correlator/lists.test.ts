/** Canonical list matching: addresses as addresses, CIDRs by prefix, host names without case or trailing dot. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IndicatorList, canonicalIndicator } from "./lists.ts";
import { prepareOperator } from "./operators.ts";

test("IPv4-mapped IPv6 forms equal their IPv4 entry, and the other way round", () => {
  const l = new IndicatorList(["10.0.0.1", "::ffff:192.0.2.9"]);
  for (const v of ["10.0.0.1", "::ffff:10.0.0.1", "::FFFF:a00:1", "0:0:0:0:0:ffff:0a00:0001", "::ffff:0a00:1"]) {
    assert.ok(l.has(v), v);
  }
  assert.ok(l.has("192.0.2.9"), "a mapped entry matches the plain address");
  assert.ok(!l.has("10.0.0.2"));
  assert.ok(!l.has("::10.0.0.1"), "IPv4-compatible (deprecated) is not IPv4-mapped");
  assert.ok(!l.has("010.0.0.1"), "leading zeros are not read as the address");
});

test("IPv6 addresses compare as addresses in any spelling", () => {
  const l = new IndicatorList(["2001:DB8::1"]);
  assert.ok(l.has("2001:db8:0:0:0:0:0:1"));
  assert.ok(l.has("2001:0db8::0001"));
  assert.ok(!l.has("2001:db8::2"));
  assert.ok(!l.has("2001:db8::1::"), "not an address");
});

test("an address matches a CIDR entry (v4, v6, mapped, and a v6 block holding all of IPv4)", () => {
  const l = new IndicatorList(["10.0.0.0/8", "192.168.1.77/24", "2001:db8::/32", "::ffff:198.51.100.0/120"]);
  assert.ok(l.has("10.255.1.2"));
  assert.ok(l.has("::ffff:10.1.2.3"));
  assert.ok(l.has("192.168.1.200"), "host bits of the entry are cleared");
  assert.ok(!l.has("192.168.2.1"));
  assert.ok(l.has("2001:db8:ffff::1"));
  assert.ok(!l.has("2001:db9::1"));
  assert.ok(l.has("198.51.100.42"), "a mapped block matches IPv4");
  assert.ok(!l.has("198.51.101.1"));
  const all = new IndicatorList(["::/0"]);
  assert.ok(all.has("203.0.113.1") && all.has("fe80::1"));
  assert.ok(new IndicatorList(["0.0.0.0/0"]).has("1.2.3.4"));
});

test("host names and domains: case-insensitive, without a trailing dot; *.suffix entries", () => {
  const l = new IndicatorList(["Evil.Example.", "DC01", "*.bad.example"]);
  assert.ok(l.has("evil.example"));
  assert.ok(l.has("EVIL.EXAMPLE."));
  assert.ok(l.has("dc01"));
  assert.ok(l.has("a.b.BAD.example."));
  assert.ok(!l.has("bad.example"), "a *. entry is for names under the domain");
  assert.ok(!l.has("notbad.example"));
  assert.ok(!l.has("evil.example.com"));
});

test("hashes compare without case; URLs with scheme and host lower-cased, path as given", () => {
  const sha = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
  const l = new IndicatorList([sha, "HTTP://Evil.Example./Path?Q=1"]);
  assert.ok(l.has(sha.toLowerCase()));
  assert.ok(l.has("http://evil.example/Path?Q=1"));
  assert.ok(l.has("http://EVIL.example/Path?Q=1"));
  assert.ok(!l.has("http://evil.example/path?q=1"), "the path keeps its case");
});

test("canonical forms and types of entries", () => {
  assert.deepEqual(canonicalIndicator("::ffff:10.0.0.1"), { value: "10.0.0.1", type: "ip" });
  assert.deepEqual(canonicalIndicator("10.1.2.3/8"), { value: "10.0.0.0/8", type: "cidr" });
  assert.deepEqual(canonicalIndicator("10.1.2.3/32"), { value: "10.1.2.3", type: "ip" });
  assert.deepEqual(canonicalIndicator("2001:0DB8:0:0::1/128"), { value: "2001:db8::1", type: "ip" });
  assert.deepEqual(canonicalIndicator("2001:db8::1/32"), { value: "2001:db8::/32", type: "cidr" });
  assert.deepEqual(canonicalIndicator("Example.COM."), { value: "example.com", type: "domain" });
  assert.deepEqual(canonicalIndicator("D41D8CD98F00B204E9800998ECF8427E"), {
    value: "d41d8cd98f00b204e9800998ecf8427e",
    type: "hash",
  });
  assert.equal(canonicalIndicator("hxxp evil")?.type, "other");
  assert.equal(canonicalIndicator("  "), undefined);
});

test("inList goes through the canonical list; an IndicatorList changed in place is seen by a prepared test", () => {
  const list = new IndicatorList(["10.0.0.1"]);
  const inList = prepareOperator("inList", "iocs", new Map([["iocs", list]]));
  assert.ok(inList("::ffff:10.0.0.1"));
  assert.ok(inList(["x", "10.0.0.1"]));
  assert.ok(!inList("198.51.100.7"));
  list.setImported(["198.51.100.0/24"]);
  assert.ok(inList("198.51.100.7"), "imported entries are seen without preparing again");
  assert.ok(inList("10.0.0.1"), "the file's entries stay");
  list.setImported([]);
  assert.ok(!inList("198.51.100.7"));
  const plain = prepareOperator("inList", "iocs", new Map([["iocs", new Set(["Evil.Example"])]]));
  assert.ok(plain("evil.example."), "plain sets are matched canonically too");
});

test("a CIDR list of 100k entries answers 200k lookups of addresses outside it: no false hit", () => {
  const entries: string[] = [];
  for (let i = 0; i < 100_000; i++) entries.push(`10.${(i >> 8) & 255}.${i & 255}.${i % 7}`);
  for (let b = 8; b <= 32; b++) entries.push(`172.16.0.0/${b}`);
  const l = new IndicatorList(entries);
  let hits = 0;
  for (let i = 0; i < 200_000; i++) if (l.has(`192.0.${(i >> 8) & 255}.${i & 255}`)) hits++;
  // Speed is the bench's to measure (rules.* rows), not a timed assertion's.
  assert.equal(hits, 0);
  assert.ok(l.has("172.16.9.9") && l.has("10.0.5.5"));
});
