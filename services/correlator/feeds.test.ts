/**
 * Feed parsers. The STIX objects are built field by field from "STIX Version 2.1" (OASIS Standard, 10 June 2021):
 * §4.7 Indicator (type, spec_version, id, created, modified, pattern, pattern_type, valid_from, valid_until,
 * revoked) and §9 STIX Patterning (observation expressions in [...], comparisons joined by OR/AND, `=` and
 * ISSUBSET, object paths such as file:hashes.'SHA-256', strings in single quotes with \' and \\ escapes). The MISP
 * documents follow "MISP core format" (draft-dulaunoy-misp-core-format-17): an Event with Attribute and Object
 * lists, each attribute with uuid, type, category, to_ids, value, timestamp and deleted; composite types carry
 * their two values separated by `|`; the attribute search answers {"response": {"Attribute": [...]}}.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { csvRecords, parseCsv, parseFeed, parseMisp, parseStix, parseText, stixComparisons } from "./feeds.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const opts = { nowMs: NOW };
const values = (r: { entries: ReadonlyArray<{ value: string }> }) => r.entries.map((e) => e.value);

function indicator(n: number, fields: Record<string, unknown>) {
  return {
    type: "indicator",
    spec_version: "2.1",
    id: `indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd${String(n).padStart(2, "0")}`,
    created: "2026-05-01T10:00:00.000Z",
    modified: "2026-05-01T10:00:00.000Z",
    name: `test indicator ${n}`,
    indicator_types: ["malicious-activity"],
    pattern_type: "stix",
    valid_from: "2026-05-01T10:00:00Z",
    ...fields,
  };
}

test("STIX 2.1: the four pattern forms, OR-joined comparisons, valid_until, revoked and other types", () => {
  const bundle = {
    type: "bundle",
    id: "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
    objects: [
      indicator(1, { pattern: "[ipv4-addr:value = '198.51.100.1']", valid_until: "2026-07-01T00:00:00Z" }),
      indicator(2, { pattern: "[domain-name:value = 'Evil.Example.']" }),
      indicator(3, { pattern: "[url:value = 'HTTP://Evil.Example/Gate.php?id=1']" }),
      indicator(4, {
        pattern: "[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F']",
      }),
      indicator(5, {
        pattern:
          "[ipv4-addr:value = '203.0.113.5' OR ipv4-addr:value = '203.0.113.0/28'] OR [domain-name:value = 'c2.example']",
      }),
      indicator(6, { pattern: "[ipv4-addr:value = '192.0.2.1']", revoked: true }),
      indicator(7, { pattern: "[ipv4-addr:value = '192.0.2.2']", valid_until: "2026-01-01T00:00:00Z" }),
      indicator(8, { pattern: "[ipv4-addr:value = '192.0.2.3' AND domain-name:value = 'x.example']" }),
      indicator(9, { pattern: "alert tcp any any -> any any", pattern_type: "snort" }),
      indicator(10, { pattern: "[email-addr:value = 'a@example.com']" }),
      indicator(11, { pattern: "[ipv4-addr:value ISSUBSET '198.51.100.0/24']" }),
      indicator(12, { pattern: "[domain-name:value = 'not an ip']" }),
      { type: "malware", spec_version: "2.1", id: "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b", name: "x" },
    ],
  };
  const r = parseStix(JSON.stringify(bundle), opts);
  assert.deepEqual(values(r), [
    "198.51.100.1",
    "evil.example",
    "http://evil.example/Gate.php?id=1",
    "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
    "203.0.113.5",
    "203.0.113.0/28",
    "c2.example",
    "198.51.100.0/24",
  ]);
  assert.equal(r.entries[0]?.expires, Date.parse("2026-07-01T00:00:00Z"));
  assert.equal(r.entries[1]?.expires, undefined, "no valid_until: the import's TTL applies");
  assert.equal(r.records, 12, "indicators only");
  const reasons = r.skipped.map((s) => s.reason).join("\n");
  assert.match(reasons, /revoked/);
  assert.match(reasons, /expired at 2026-01-01/);
  assert.match(reasons, /"AND" is not supported/);
  assert.match(reasons, /pattern_type snort/);
  assert.match(reasons, /email-addr:value is not/);
  assert.match(reasons, /is not a domain/);
  assert.equal(r.skippedCount, 6);
  assert.match(r.skipped[0]?.at ?? "", /objects\[5\] \(indicator--/);
});

test("STIX patterns: escapes in strings, parentheses, qualifiers refused", () => {
  assert.deepEqual(stixComparisons("[url:value = 'http://x.example/it\\'s']"), [
    { path: "url:value", op: "=", value: "http://x.example/it's" },
  ]);
  assert.deepEqual(
    (stixComparisons("([domain-name:value = 'a.example'] OR [domain-name:value = 'b.example'])") as unknown[]).length,
    2,
  );
  assert.match(JSON.stringify(stixComparisons("[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS")), /WITHIN/);
  assert.match(JSON.stringify(stixComparisons("[ipv4-addr:value != '1.2.3.4']")), /operator/);
  assert.match(JSON.stringify(stixComparisons("[ipv4-addr:value = '1.2.3.4'")), /ends early/);
  assert.throws(() => parseStix('{"type": "report"}', opts), /bundle/);
});

test("MISP event export: attributes and object attributes, composite types, deleted, to_ids", () => {
  const attr = (n: number, type: string, value: string, extra: Record<string, unknown> = {}) => ({
    id: String(100 + n),
    uuid: `5f0b0c1a-0000-4000-8000-0000000000${String(n).padStart(2, "0")}`,
    event_id: "42",
    type,
    category: "Network activity",
    to_ids: true,
    value,
    timestamp: "1780000000",
    deleted: false,
    ...extra,
  });
  const event = {
    Event: {
      id: "42",
      uuid: "5f0b0c1a-1111-4000-8000-000000000001",
      info: "test event",
      date: "2026-05-30",
      threat_level_id: "1",
      analysis: "2",
      distribution: "1",
      Attribute: [
        attr(1, "ip-src", "198.51.100.7"),
        attr(2, "ip-dst|port", "203.0.113.9|443"),
        attr(3, "domain|ip", "Evil.Example|192.0.2.44"),
        attr(4, "hostname", "mail.evil.example."),
        attr(5, "url", "https://evil.example/x"),
        attr(6, "md5", "D41D8CD98F00B204E9800998ECF8427E", { category: "Payload delivery" }),
        attr(7, "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", { to_ids: false }),
        attr(8, "ip-dst", "192.0.2.99", { deleted: true }),
        attr(9, "email-src", "a@example.com"),
        attr(10, "domain", "10.0.0.1"),
      ],
      Object: [
        {
          name: "file",
          "meta-category": "file",
          uuid: "5f0b0c1a-2222-4000-8000-000000000001",
          Attribute: [
            attr(11, "sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", {
              object_relation: "sha256",
            }),
            attr(12, "filename", "x.exe", { object_relation: "filename" }),
          ],
        },
      ],
    },
  };
  const all = parseMisp(JSON.stringify(event), opts);
  assert.deepEqual(values(all), [
    "198.51.100.7",
    "203.0.113.9",
    "evil.example",
    "192.0.2.44",
    "mail.evil.example",
    "https://evil.example/x",
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  ]);
  assert.equal(all.records, 12);
  assert.deepEqual(
    all.skipped.map((s) => s.at),
    ["Event.Attribute[7]", "Event.Attribute[8]", "Event.Attribute[9]", "Event.Object[0].Attribute[1]"],
  );
  const ids = parseMisp(JSON.stringify(event), { ...opts, toIdsOnly: true });
  assert.ok(!values(ids).includes("da39a3ee5e6b4b0d3255bfef95601890afd80709"), "to_ids false is left out");
  assert.match(ids.skipped.map((s) => s.reason).join(), /to_ids is not set/);
});

test("MISP attribute export and restSearch event list", () => {
  const attributes = {
    response: {
      Attribute: [
        { type: "ip-dst", category: "Network activity", to_ids: "1", value: "2001:DB8::5", uuid: "u1", event_id: "7" },
        { type: "domain", category: "Network activity", to_ids: "0", value: "b.example", uuid: "u2", event_id: "7" },
      ],
    },
  };
  assert.deepEqual(values(parseMisp(JSON.stringify(attributes), opts)), ["2001:db8::5", "b.example"]);
  assert.deepEqual(values(parseMisp(JSON.stringify(attributes), { ...opts, toIdsOnly: true })), ["2001:db8::5"]);
  const events = { response: [{ Event: { Attribute: [{ type: "url", value: "http://u.example/", to_ids: true }] } }] };
  assert.deepEqual(values(parseMisp(JSON.stringify(events), opts)), ["http://u.example/"]);
  assert.throws(() => parseMisp("{}", opts), /MISP export/);
});

test("CSV (RFC 4180): quoted commas, doubled quotes, newlines in quotes, CRLF; column by name; expiry column", () => {
  assert.deepEqual(csvRecords('a,"b,c","d ""e"""\r\n"multi\nline",x,\r\n'), [
    { line: 1, fields: ["a", "b,c", 'd "e"'] },
    { line: 2, fields: ["multi\nline", "x", ""] },
  ]);
  const csv = [
    "first_seen,Indicator,comment,expires",
    '2026-05-01,198.51.100.9,"seen in ""phish"" wave, batch 2",2026-08-01T00:00:00Z',
    '2026-05-01,"evil.example","two\nlines",',
    "2026-05-01,not valid!,x,",
    "2026-05-01,192.0.2.1,x,2026-01-01T00:00:00Z",
    "2026-05-01,192.0.2.2,x,soon",
  ].join("\r\n");
  const r = parseCsv(csv, opts);
  assert.deepEqual(values(r), ["198.51.100.9", "evil.example"]);
  assert.equal(r.entries[0]?.expires, Date.parse("2026-08-01T00:00:00Z"));
  assert.deepEqual(
    r.skipped.map((s) => s.at),
    ["line 5", "line 6", "line 7"],
    "line numbers count the newline inside the quoted field",
  );
  const byColumn = parseCsv("ip,domain\n10.0.0.1,a.example\n", { ...opts, column: "Domain" });
  assert.deepEqual(values(byColumn), ["a.example"]);
  assert.throws(() => parseCsv("a,b\n1,2\n", opts), /--column/);
  assert.throws(() => parseCsv("a,b\n1,2\n", { ...opts, column: "c" }), /no column "c"/);
});

test("text: one per line, # comments (a URL keeps its fragment)", () => {
  const r = parseText(
    "# feed header\n10.0.0.0/8\n\nevil.example  # known bad\nhttp://x.example/#frag\nnot valid!\n",
    opts,
  );
  assert.deepEqual(values(r), ["10.0.0.0/8", "evil.example", "http://x.example/#frag"]);
  assert.deepEqual(r.skipped, [{ at: "line 6", reason: '"not valid!" is not an IP, CIDR, domain, URL or hash' }]);
  assert.equal(parseFeed("text", "a.example\n", opts).entries[0]?.type, "domain");
});
