import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { deviceTime, parseCef, parseCefExtension, parseLeef, severityOf, stripSyslog } from "./syslog-parse.ts";
import { LINEAR, growth } from "../growth.testing.ts";

const CEF = "CEF:0|V|P|1|100|Port scan|7|src=10.0.0.5 rt=1700000000000";

test("stripSyslog: stacked headers give the innermost RFC 5424 one; else RFC 3164; bare lines have none", () => {
  const relayed = `<13>1 2026-01-01T00:00:00Z relay01 rsyslogd - - - <134>1 2026-11-20T10:00:00.5Z fw01 CheckPoint 42 - [x@1 a="b"] ${CEF}`;
  const a = stripSyslog(relayed, "CEF")!;
  assert.equal(a.body, CEF);
  assert.deepEqual(a.header, {
    host: "fw01",
    app: "CheckPoint",
    time: Date.parse("2026-11-20T10:00:00.5Z"),
    timeText: "2026-11-20T10:00:00.5Z",
  });
  assert.deepEqual(stripSyslog(`<134>1 - - - - - - ${CEF}`, "CEF")!.header, {});
  assert.deepEqual(stripSyslog(`<134>Nov 20 10:00:00 fw02 CheckPoint[4242]: ${CEF}`, "CEF")!.header, {
    host: "fw02",
    app: "CheckPoint",
  });
  assert.deepEqual(stripSyslog(`<134>Nov  2 10:00:00 fw02 ${CEF}`, "CEF")!.header, { host: "fw02" });
  assert.deepEqual(stripSyslog(CEF, "CEF")!.header, {});
  // A marker needs a version and a pipe, at the start or after whitespace, `>` or `:`.
  assert.equal(stripSyslog("xCEF:0|V|P|1|1|n|5|", "CEF"), undefined);
  assert.equal(stripSyslog("CEF:|V|P", "CEF"), undefined);
  assert.equal(stripSyslog("CEF:0.|V|P", "CEF"), undefined);
  assert.equal(stripSyslog("host: CEF:1.2|V|P|1|1|n|5|", "CEF")!.body, "CEF:1.2|V|P|1|1|n|5|");
  assert.equal(stripSyslog("<1>LEEF:2.0|V|P|1|E|^|a=1", "LEEF")!.body, "LEEF:2.0|V|P|1|E|^|a=1");
  // The first marker whose version is followed by a pipe.
  assert.equal(stripSyslog("msg CEF:9 then CEF:0|V|P|1|1|n|5|", "CEF")!.body, "CEF:0|V|P|1|1|n|5|");
  // Fewer than five header fields, or fields split by a tab: not an RFC 5424 header.
  assert.deepEqual(stripSyslog(`<134>1 2026-11-20T10:00:00Z fw01 ${CEF}`, "CEF")!.header, {});
  assert.deepEqual(stripSyslog(`<134>1 2026-11-20T10:00:00Z\tfw01 app - - - ${CEF}`, "CEF")!.header, {});
});

test("stripSyslog is linear: long structured data, many stacked headers, many header-like tokens", () => {
  const cases: Array<[string, (n: number) => string]> = [
    ["structured data", (n) => `<134>1 2026-11-20T10:00:00Z h a - - ${'[x@1 a="b c"]'.repeat(n / 13)} ${CEF}`],
    ["stacked headers with an open [", (n) => `${"<1>1 a b c d e [".repeat(n / 16)} ${CEF}`],
    ["headers without their fields", (n) => `${"<1>1 ".repeat(n / 5)}${CEF}`],
    ["one long field", (n) => `<134>1 ${"t".repeat(n)} h a - - - ${CEF}`],
    ["many tokens", (n) => `<134>Nov 20 10:00:00 ${"a ".repeat(n / 2)}${CEF}`],
    ["digits after markers", (n) => `${" CEF:1234567".repeat(n / 12)} ${CEF}`],
  ];
  for (const [name, line] of cases) {
    const r = growth((n) => {
      const s = line(n);
      return () => stripSyslog(s, "CEF");
    }, 20_000);
    assert.ok(r < LINEAR, `${name}: 4x the input took ${r.toFixed(1)}x the time`);
  }
});

/** The extension parser as it was written with regular expressions (quadratic on runs of spaces): the reference. */
function referenceExtension(ext: string): Record<string, string> {
  const keys = [...ext.matchAll(/(?:^|\s)([A-Za-z0-9_.\-[\]]+)=/g)];
  const out: Record<string, string> = {};
  keys.forEach((m, j) => {
    const next = keys[j + 1];
    const raw = ext.slice(m.index + m[0].length, next ? next.index : ext.length);
    const v = raw
      .replace(/\s+$/, "")
      .replace(/\\([\\=|nr])/g, (_m, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
    Object.defineProperty(out, m[1]!, { value: v, enumerable: true, writable: true, configurable: true });
  });
  return out;
}

test("CEF extension parser: same pairs as the reference on random text over CEF's special characters", () => {
  const alphabet = fc.constantFrom(
    "a",
    "b",
    "Z",
    "1",
    "_",
    ".",
    "-",
    "[",
    "]",
    "=",
    "\\",
    " ",
    "  ",
    "\t",
    "\u00a0",
    "|",
    "n",
    "r",
    "é",
  );
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 60 }), (chars) => {
      const ext = chars.join("");
      assert.deepEqual({ ...parseCefExtension(ext) }, referenceExtension(ext), JSON.stringify(ext));
    }),
    { numRuns: 3_000 },
  );
});

test("CEF: header and extension escapes per the ArcSight spec", () => {
  const c = parseCef("CEF:0|a\\|b|c\\\\d|e\\x|1|n|5|k=a\\=b\\\\c\\nd\\re\\|f k2=\\q");
  assert.equal(c.vendor, "a|b");
  assert.equal(c.product, "c\\d");
  assert.equal(c.deviceVersion, "e\\x", "other backslashes in the header stay");
  assert.equal(c.ext["k"], "a=b\\c\nd\re|f");
  assert.equal(c.ext["k2"], "\\q");
});

test("CEF and LEEF header parsing is linear in long fields full of escapes and pipes", () => {
  const cef = growth((n) => {
    const s = `CEF:0|${"\\|\\\\".repeat(n / 4)}|P|1|1|n|5|a=b`;
    return () => parseCef(s);
  }, 20_000);
  assert.ok(cef < LINEAR, `CEF: 4x the input took ${cef.toFixed(1)}x the time`);
  const leef = growth((n) => {
    const s = `LEEF:2.0|V|P|1|E|^|${"a=|".repeat(n / 3)}`;
    return () => parseLeef(s);
  }, 20_000);
  assert.ok(leef < LINEAR, `LEEF: 4x the input took ${leef.toFixed(1)}x the time`);
});

test("severity words and zone names are looked up as data: Object.prototype members are not words", () => {
  for (const w of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) assert.equal(severityOf(w), 0);
  assert.equal(severityOf("Very-High"), 5);
  assert.equal(severityOf("medium"), 3);
  const t = Date.UTC(2024, 0, 1);
  assert.equal(deviceTime("Jan 01 2024 00:00:00 constructor"), t);
  assert.equal(deviceTime("Jan 01 2024 00:00:00", "__proto__"), t);
  assert.equal(deviceTime("Jan 01 2024 00:00:00 CET"), t - 60 * 60_000);
  assert.equal(deviceTime("Jan 01 2024 00:00:00", "Europe/Paris"), t - 60 * 60_000);
  assert.equal(deviceTime("Jan 01 2024 00:00:00", `Europe/${"x".repeat(100_000)}`), t, "not handed to Intl");
});

test("device time parsing is linear in long values", () => {
  const r = growth((n) => {
    const s = `Jan 01 2024 00:00:00${" ".repeat(n)}x y`;
    const iso = `2024-01-01T00:00:00.${"1".repeat(n)}x`;
    return () => [deviceTime(s), deviceTime(iso)];
  }, 20_000);
  assert.ok(r < LINEAR, `4x the input took ${r.toFixed(1)}x the time`);
});

/** The extension parser as first written, one character at a time: what the indexOf version must agree with. */
function extensionByChars(ext: string): Record<string, string> {
  const isKey = (c: number) =>
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x2d ||
    c === 0x5b ||
    c === 0x5d;
  const out = Object.create(null) as Record<string, string>;
  const unescape = (s: string) =>
    s.replace(/\\([\\=|nr])/g, (_m, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
  let key: string | undefined;
  let from = 0;
  let i = 0;
  while (i < ext.length) {
    if (!isKey(ext.charCodeAt(i)) || (i > 0 && !/\s/.test(ext[i - 1] as string))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < ext.length && isKey(ext.charCodeAt(j))) j++;
    if (ext[j] === "=") {
      if (key !== undefined) out[key] = unescape(ext.slice(from, i - 1).trimEnd());
      key = ext.slice(i, j);
      from = j + 1;
      i = j + 1;
    } else i = j;
  }
  if (key !== undefined) out[key] = unescape(ext.slice(from).trimEnd());
  return out;
}

test("parseCefExtension, which jumps from = to =, agrees with the character-by-character parser", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("a", "B", "1", "_", ".", "-", "[", "]", "=", " ", "\t", "\u00a0", "\\", "|", "/", "n"), {
        maxLength: 40,
      }),
      (chars) => {
        const ext = chars.join("");
        assert.deepEqual({ ...parseCefExtension(ext) }, { ...extensionByChars(ext) }, JSON.stringify(ext));
      },
    ),
    { numRuns: 20_000 },
  );
});
