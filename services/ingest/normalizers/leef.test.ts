import { test } from "node:test";
import assert from "node:assert/strict";
import { leef } from "./leef.ts";
import { parseLeef } from "./syslog-parse.ts";
import fc from "fast-check";
import { corpusLines, json, normalizeWith, text } from "./testing.ts";
import { LINEAR, growth } from "../growth.testing.ts";

const TENZIR = corpusLines("cef_leef_syslog/tenzir__leef2.log");

test("leef parser: PAN-OS LEEF 2.0 templates without a delimiter field split on the literal \\t", () => {
  assert.equal(TENZIR.length, 3);
  const l = parseLeef(TENZIR[0]!);
  assert.equal(l.version, "2.0");
  assert.equal(l.vendor, "Palo Alto Networks");
  assert.equal(l.product, "PAN-OS Syslog Integration");
  assert.equal(l.deviceVersion, "4.0");
  assert.equal(l.eventId, "$result");
  assert.deepEqual(Object.keys(l.attrs), ["cat", "usrName", "src", "devTime", "client", "sequence", "serial", "msg"]);
  assert.equal(l.attrs["usrName"], "$admin");
  const last = parseLeef(TENZIR[2]!);
  assert.equal(last.attrs["DeviceSN"], "$serial");
  assert.equal(Object.keys(last.attrs).length, 21);
});

test("leef parser: LEEF 2.0 delimiters as a character, as x09 hex, and LEEF 1.0 tabs", () => {
  const attrs = (line: string) => ({ ...parseLeef(line).attrs });
  assert.deepEqual(attrs("LEEF:2.0|V|P|1|E|^|a=1^b=x y"), { a: "1", b: "x y" });
  const hex = parseLeef("LEEF:2.0|V|P|1|E|x09|a=1\tb=2|3");
  assert.equal(hex.delimiter, "\t");
  assert.deepEqual({ ...hex.attrs }, { a: "1", b: "2|3" });
  assert.deepEqual(attrs("LEEF:2.0|V|P|1|E|0x7c|a=1|b=2"), { a: "1", b: "2" });
  assert.deepEqual(attrs("LEEF:1.0|V|P|1|E|a=1\tb=2"), { a: "1", b: "2" });
  // LEEF 1.0 has no delimiter field: a pipe in the attributes is data.
  assert.deepEqual(attrs("LEEF:1.0|V|P|1|E|a=1|2\tb=2"), { a: "1|2", b: "2" });
  // A LEEF 2.0 delimiter field that is empty means tab; one with "=" in it is the first attribute.
  assert.deepEqual(attrs("LEEF:2.0|V|P|1|E||a=1\tb=2"), { a: "1", b: "2" });
  assert.deepEqual(attrs("LEEF:2.0|V|P|1|E|a=1|b=2"), { a: "1|b=2" });
  assert.throws(() => parseLeef("LEEF:1.0|V|P"), /LEEF header has 3 of its 6/);
});

test("leef: the tenzir template lines are detected and dead-lettered as unfilled templates, not events", () => {
  for (const line of TENZIR) {
    assert.ok(leef.detect(text(line)));
    assert.throws(() => leef.normalize(text(line)), /unfilled LEEF template/);
  }
});

test("leef: a PAN-OS THREAT line behind RFC 5424 syslog maps host, user, IPs, severity, time and title", () => {
  const line =
    "<14>1 2024-05-02T10:11:13.000Z pa-fw-01 PAN-OS - THREAT - LEEF:2.0|Palo Alto Networks|PAN-OS Syslog Integration|11.0|THREAT|^|cat=virus^src=10.1.2.3^dst=203.0.113.9^srcPort=51515^dstPort=80^usrName=EXAMPLE\\jdoe^sev=8^devTime=May 02 2024 10:11:10 UTC^msg=Eicar test file^url=http://203.0.113.9/eicar.com^serial=0123456789^sequence=42";
  const e = normalizeWith(leef, text(line));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "THREAT: virus");
  assert.equal(e.finding_info.uid, "0123456789:42");
  assert.equal(e.time, Date.UTC(2024, 4, 2, 10, 11, 10));
  assert.equal(e.severity_id, 4);
  assert.deepEqual(e.src_endpoint, { ip: "10.1.2.3", port: 51515 });
  assert.deepEqual(e.device, { ip: "10.1.2.3" }, "internal → external: the source is affected");
  assert.deepEqual(e.user, { name: "jdoe", domain: "EXAMPLE" });
  assert.equal(e.riposte.entity_key, "user:jdoe");
  assert.deepEqual(e.unmapped?.["reporting_device"], { hostname: "pa-fw-01", uid: "0123456789" });
  assert.equal(e.evidences?.[0]?.url?.url_string, "http://203.0.113.9/eicar.com");
});

test("leef: LEEF 1.0 with identHostName names the device; traffic is Low at most", () => {
  const e = normalizeWith(
    leef,
    text(
      "LEEF:1.0|Example|Mail Gateway|2.1|15345|src=192.0.2.7\tdst=10.0.0.5\tsev=3\tdevTime=1714644672000\tcat=Email Rejected\tidentHostName=mail01.example.com\tidentSrc=10.0.0.5",
    ),
  );
  assert.ok(e.class_uid === 2004);
  assert.deepEqual(e.device, { hostname: "mail01.example.com", ip: "10.0.0.5" });
  assert.equal(e.riposte.entity_key, "host:mail01.example.com");
  assert.equal(e.severity_id, 2);
  assert.equal(e.time, 1714644672000);
  const t = normalizeWith(
    leef,
    text("LEEF:2.0|V|FW|1|TRAFFIC|x09|src=10.0.0.1\tdst=198.51.100.2\tsev=9\tdevTime=2024-05-02T10:00:00Z"),
  );
  assert.ok(t.class_uid === 2004 && t.is_alert === false);
  assert.equal(t.severity_id, 2);
});

test("leef: detection is specific; malformed lines give clear errors", () => {
  assert.equal(leef.detect(text("CEF:0|V|P|1|1|N|5|src=10.0.0.1")), false);
  assert.equal(leef.detect(json({ message: TENZIR[0]! })), false);
  assert.throws(() => leef.normalize(text("LEEF:2.0|V|P")), /LEEF header has 3 of its 6/);
  assert.throws(() => leef.normalize(text("LEEF:1.0|V|P|1||src=10.0.0.1\tdevTime=1714644672000")), /no Event ID/);
});

/** The attribute parser as it was written with split and regular expressions (quadratic on runs of spaces). */
function referenceAttrs(body: string): Record<string, string> {
  const head = /^LEEF:(\d+(?:\.\d+)?)\|/.exec(body)!;
  const parts = body.slice(head[0].length).split("|");
  let rest = parts.slice(4);
  let delimiter = "\t";
  if (head[1]!.startsWith("2") && rest.length > 1) {
    const f = rest[0]!;
    const hex = /^(?:0x|x)([0-9a-f]{1,4})$/i.exec(f);
    const d =
      f === ""
        ? "\t"
        : f === "\\t"
          ? "\t"
          : hex
            ? String.fromCharCode(parseInt(hex[1]!, 16))
            : f.length === 1 && f !== "="
              ? f
              : undefined;
    if (d !== undefined && !f.includes("=")) {
      delimiter = d;
      rest = rest.slice(1);
    }
  }
  const text = rest.join("|");
  const sep = delimiter === "\t" && !text.includes("\t") && text.includes("\\t") ? "\\t" : delimiter;
  const out: Record<string, string> = {};
  for (const pair of text.split(sep)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    Object.defineProperty(out, pair.slice(0, eq).trim(), {
      value: pair.slice(eq + 1).replace(/\s+$/, ""),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

test("leef parser: same attributes as the reference on random lines over LEEF's special characters", () => {
  const piece = fc.constantFrom("a", "b", "=", "|", "^", "\t", "\\t", " ", "  ", "x09", "0x5e", "\u00a0", "é");
  fc.assert(
    fc.property(fc.constantFrom("1.0", "2.0"), fc.array(piece, { maxLength: 40 }), (v, pieces) => {
      const line = `LEEF:${v}|V|P|1|E|${pieces.join("")}`;
      assert.deepEqual({ ...parseLeef(line).attrs }, referenceAttrs(line), JSON.stringify(line));
    }),
    { numRuns: 3_000 },
  );
});

test("leef: attributes named __proto__, constructor, toString are plain data; Object.prototype is untouched", () => {
  const line =
    "LEEF:2.0|V|P|1|E|^|__proto__=evil^constructor=c^toString=t^hasOwnProperty=h^devTime=1714644672000^cat=toString";
  const a = parseLeef(line).attrs;
  assert.equal(Object.getPrototypeOf(a), null);
  assert.ok(Object.hasOwn(a, "__proto__"));
  assert.deepEqual(
    Object.entries(a).filter(([k]) => k !== "devTime" && k !== "cat"),
    [
      ["__proto__", "evil"],
      ["constructor", "c"],
      ["toString", "t"],
      ["hasOwnProperty", "h"],
    ],
  );
  const e = normalizeWith(leef, text(line));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "E: toString");
  assert.equal(({} as Record<string, unknown>)["evil"], undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.equal(typeof ({} as { toString: unknown }).toString, "function");
});

test("leef is linear: a value with many inner spaces (time for 4n / time for n)", () => {
  const r = growth((n) => {
    const line = `LEEF:1.0|V|P|1|E|msg=a${" ".repeat(n)}b\tdevTime=1714644672000`;
    return () => leef.normalize(text(line));
  }, 20_000);
  assert.ok(r < LINEAR, `4x the input took ${r.toFixed(1)}x the time`);
});

test("leef is linear: many attributes, trailing spaces, pieces without =, and a 64 KB line", () => {
  const cases: Array<[string, (n: number) => string]> = [
    ["many attributes", (n) => `LEEF:2.0|V|P|1|E|^|${"k=v ^".repeat(n / 5)}devTime=1714644672000`],
    ["pieces without =", (n) => `LEEF:2.0|V|P|1|E|^|${"xx^".repeat(n / 3)}devTime=1714644672000`],
    ["trailing spaces", (n) => `LEEF:1.0|V|P|1|E|${"k=v     \t".repeat(n / 10)}devTime=1714644672000`],
    ["a 64 KB line", (n) => `<13>1 2024-05-02T10:11:13Z h a - - - LEEF:2.0|V|P|1|E|^|msg=${"a  \\t=|".repeat(n / 8)}`],
  ];
  for (const [name, line] of cases) {
    const r = growth((n) => {
      const s = line(n);
      return () => leef.normalize(text(s));
    }, 16_000);
    assert.ok(r < LINEAR, `${name}: 4x the input took ${r.toFixed(1)}x the time`);
  }
});
