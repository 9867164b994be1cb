import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSplunkRaw, splunkNotable } from "./splunk-notable.ts";
import fc from "fast-check";
import { corpusEvents, json, normalizeWith } from "./testing.ts";
import { LINEAR, growth } from "../growth.testing.ts";

const NOTABLES = corpusEvents("splunk_notable/elastic-integrations__splunk_alert__test-alert.log");

test("splunk: _raw k=v pairs parse with quotes, escapes and repeated keys", () => {
  const r = parseSplunkRaw('1739168412, search_name="A - B", tag="x", tag="y", n=5, p="C:\\\\dir \\"q\\""');
  assert.equal(r.epoch, "1739168412");
  assert.deepEqual({ ...r.fields }, { search_name: "A - B", tag: ["x", "y"], n: "5", p: 'C:\\dir "q"' });
});

test("splunk: the failed-logins notable maps title, source IP, time and tags; the Splunk server is not the host", () => {
  assert.equal(NOTABLES.length, 2);
  const e = normalizeWith(splunkNotable, json(NOTABLES[0]!));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "Access - Excessive Failed Logins - Rule");
  assert.equal(e.time, Date.parse("2025-02-10T11:50:16.000+05:30"));
  assert.equal(e.metadata.original_time, "2025-02-10T11:50:16.000+05:30");
  assert.equal(e.severity_id, 0, "the notable carries no urgency or severity");
  assert.deepEqual(e.src_endpoint, { ip: "89.160.20.112" });
  assert.equal(e.device, undefined);
  assert.equal(e.user, undefined);
  assert.equal(e.riposte.entity_key, "ip:89.160.20.112");
  assert.deepEqual(e.finding_info.types, ["authentication", "default", "error", "failure"]);
  assert.deepEqual(e.finding_info.attacks, [{ tactic: { name: "mite" }, technique: { name: "mite" } }]);
  assert.equal(e.metadata.product.name, "Enterprise Security");
  assert.ok(e.finding_info.uid.startsWith("notable-"));
});

test("splunk: the CrowdStrike notable maps user, severity and the file with its hash", () => {
  const e = normalizeWith(splunkNotable, json(NOTABLES[1]!));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "Threat - Crowdstrike - Detection Found - Rule");
  assert.equal(e.time, Date.parse("2025-02-11T13:37:05.000+05:30"));
  assert.equal(e.severity_id, 2);
  assert.deepEqual(e.user, { name: "keval.sabhani" });
  assert.equal(e.riposte.entity_key, "user:keval.sabhani");
  const file = e.evidences?.[0]?.file;
  assert.equal(file?.name, "go.exe");
  assert.equal(file?.path, "\\Device\\HarddiskVolume3\\Program Files\\Go\\bin\\go.exe");
  assert.deepEqual(file?.hashes, [
    { algorithm: "SHA-256", value: "b9ef39e591886f5ea06521952ece1320e14928ddf4db440365babe3d410298c1" },
  ]);
  assert.equal(e.unmapped?.["action"], "blocked");
});

test("splunk: ES fields (rule_name, urgency, dest, event_id, MITRE ids) and the webhook payload", () => {
  const result = {
    _time: "2024-05-02T10:11:12.000+00:00",
    _raw: '1714644672, search_name="Endpoint - Suspicious PowerShell - Rule", rule_name="Suspicious PowerShell", urgency="high", dest="wks-17.example.com", user="EXAMPLE\\\\mallory", src="10.2.3.4", event_id="E1@@notable@@abc", annotations.mitre_attack.mitre_technique_id="T1059.001", annotations.mitre_attack.mitre_tactic_id="TA0002", status="2"',
    index: "notable",
  };
  const webhook = {
    sid: "scheduler__admin__SplunkEnterpriseSecuritySuite__RMD5abc",
    search_name: "Endpoint - Suspicious PowerShell - Rule",
    results_link: "https://splunk.example.com/app/search?sid=x",
    result,
  };
  for (const ev of [result, webhook]) {
    assert.ok(splunkNotable.detect(json(ev)));
    const e = normalizeWith(splunkNotable, json(ev));
    assert.ok(e.class_uid === 2004);
    assert.equal(e.finding_info.title, "Suspicious PowerShell");
    assert.equal(e.finding_info.uid, "E1@@notable@@abc");
    assert.equal(e.severity_id, 4);
    assert.equal(e.status, "In Progress");
    assert.equal(e.device?.hostname, "wks-17.example.com");
    assert.equal(e.riposte.entity_key, "host:wks-17.example.com");
    assert.deepEqual(e.finding_info.attacks, [{ tactic: { uid: "TA0002" }, technique: { uid: "T1059.001" } }]);
  }
});

test("splunk: a search result that is not a notable is a Base Event; a notable without a time takes the received time", () => {
  const plain = {
    _raw: "May 2 10:11:12 host sshd[1]: Accepted",
    _time: "2024-05-02T10:11:12Z",
    _cd: "1:2",
    index: "main",
    sourcetype: "syslog",
  };
  assert.ok(splunkNotable.detect(json(plain)));
  const out = normalizeWith(splunkNotable, json({ ...plain, src: "192.0.2.8", user: "alice" }));
  assert.equal(out.class_uid, 0);
  assert.equal(out.metadata.event_code, "syslog");
  assert.equal(out.metadata.log_name, "main");
  assert.equal(out.time, Date.parse("2024-05-02T10:11:12Z"));
  assert.equal(out.riposte.entity_key, "user:alice");
  const undated = normalizeWith(splunkNotable, json({ ...NOTABLES[0]!, _time: "never", _raw: 'search_name="x"' }));
  assert.equal(undated.class_uid, 2004);
  assert.equal(undated.riposte.time_fallback, true);
});

test("splunk: detection is specific", () => {
  for (const n of NOTABLES) assert.ok(splunkNotable.detect(json(n)));
  assert.equal(
    splunkNotable.detect(
      json(corpusEvents("elastic_security_alerts/elastic-integrations__elastic_security_alert__test-alert.log")[0]!),
    ),
    false,
  );
  assert.equal(
    splunkNotable.detect(json(corpusEvents("proofpoint_tap/panther-analysis__Proofpoint.Event.jsonl")[0]!)),
    false,
  );
});

/** `_raw` parsing as it was written with one regular expression (lists grown by copying): the reference. */
function referenceRaw(raw: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const m of raw.matchAll(/(?:^|[\s,])([A-Za-z_][\w.:\-{}]*)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    const value = m[2] !== undefined ? m[2].replace(/\\(["\\])/g, "$1") : (m[3] ?? "");
    const prev = fields.get(m[1]!);
    fields.set(m[1]!, prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]);
  }
  return Object.fromEntries(fields);
}

test("splunk: _raw parsing gives the reference's fields on random text over its special characters", () => {
  const piece = fc.constantFrom(
    "a",
    "k1",
    "_x",
    ".",
    ":",
    "{",
    "}",
    "-",
    "=",
    '"',
    "\\",
    ",",
    " ",
    "\n",
    "\u2028",
    "é",
    "9",
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 50 }), (pieces) => {
      const raw = pieces.join("");
      assert.deepEqual({ ...parseSplunkRaw(raw).fields }, referenceRaw(raw), JSON.stringify(raw));
    }),
    { numRuns: 3_000 },
  );
});

test("splunk: _raw keys named __proto__, constructor, toString are plain data; Object.prototype is untouched", () => {
  const raw =
    '1714644672, search_name="Probe", __proto__="p1", __proto__="p2", constructor="c", toString="t", hasOwnProperty=h, rule_title="constructor", status_label="constructor", urgency="__proto__", user="toString"';
  const r = parseSplunkRaw(raw);
  assert.equal(Object.getPrototypeOf(r.fields), null);
  assert.ok(Object.hasOwn(r.fields, "__proto__"));
  assert.deepEqual(r.fields["__proto__"], ["p1", "p2"]);
  assert.equal(r.fields["constructor"], "c");
  assert.equal(r.fields["toString" as string], "t");
  assert.equal(r.fields["hasOwnProperty" as string], "h");
  const top = JSON.parse(
    `{"_time": "2024-05-02T10:11:12Z", "index": "notable", "__proto__": {"polluted": 1}, "constructor": "top", "_raw": ${JSON.stringify(raw)}}`,
  ) as Record<string, unknown>;
  const e = normalizeWith(splunkNotable, json(top));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "constructor");
  assert.equal(e.status, "Other", "a status that is an Object.prototype member is no known status");
  assert.equal(e.severity_id, 0);
  assert.deepEqual(e.user, { name: "toString" });
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.equal(typeof ({} as { toString: unknown }).toString, "function");
});

test("splunk: _raw parsing is linear: repeated keys, unclosed quotes, escapes, a 64 KB _raw", () => {
  const cases: Array<[string, (n: number) => string]> = [
    ["one key repeated", (n) => 'tag="x", '.repeat(n / 9)],
    ["unclosed quotes", (n) => `a="${'x b="y '.repeat(n / 8)}`],
    ["quotes broken by backslash-newline", (n) => 'a="x\\\n b="y\\\n '.repeat(n / 16)],
    ["escaped quotes", (n) => `a="${'\\"'.repeat(n / 2)}"`],
    ["key characters without =", (n) => `,${"k.k:k".repeat(n / 5)}`],
    ["a 64 KB _raw", (n) => `1714644672, ${'k="v  \\" ,=", x=y, '.repeat(n / 20)}`],
  ];
  for (const [name, raw] of cases) {
    const r = growth((n) => {
      const s = raw(n);
      return () => parseSplunkRaw(s);
    }, 16_000);
    assert.ok(r < LINEAR, `${name}: 4x the input took ${r.toFixed(1)}x the time`);
  }
});
