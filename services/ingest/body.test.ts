import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { jsonDepth, splitBody } from "./body.ts";

const kinds = (body: string) => splitBody(body).map((p) => (p.ok ? p.event.kind : `error:${p.reason}`));

test("one object, an array, NDJSON and text lines", () => {
  assert.deepEqual(kinds('{"a":1}'), ["json"]);
  assert.deepEqual(kinds('[{"a":1},{"b":2}]'), ["json", "json"]);
  assert.deepEqual(kinds('{"a":1}\n{"b":2}\r\n\n{"c":3}\n'), ["json", "json", "json"]);
  assert.deepEqual(kinds("<134>1 2024-01-01T00:00:00Z fw CEF:0|a|b|1|2|n|5|\nLEEF:2.0|a|b|1|x|"), ["text", "text"]);
});

test("pretty-printed and concatenated objects are split into events", () => {
  const body = '{\n  "a": 1,\n  "s": "}{"\n}\n{\n  "b": [1, {"c": 2}]\n}\n{"d":4}\n';
  const pieces = splitBody(body);
  assert.deepEqual(
    pieces.map((p) => p.ok && p.event.kind === "json" && Object.keys(p.event.value)),
    [["a", "s"], ["b"], ["d"]],
  );
});

test("a broken line is one failed piece with its line number; the other lines survive", () => {
  const out = splitBody('{"a":1}\n{"b": oops\n{"c":3}\n');
  assert.equal(out.length, 3);
  assert.ok(out[0]?.ok && out[2]?.ok);
  const bad = out[1];
  assert.ok(bad && !bad.ok && /line 2 is not valid JSON/.test(bad.reason) && bad.text === '{"b": oops');
});

test("bad whole bodies are explained", () => {
  assert.match(kinds("")[0] ?? "", /empty/);
  assert.match(kinds("[]")[0] ?? "", /empty JSON array/);
  assert.match(kinds('{"a": oops')[0] ?? "", /the body is not valid JSON/);
  assert.match(kinds("[1, 2]")[0] ?? "", /element 0 is number/);
});

const gc = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** Least CPU time of five runs of `fn`, in ms (CPU, not wall time: other processes on the machine do not count). */
function best(fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    gc();
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    min = Math.min(min, (d.user + d.system) / 1000);
  }
  return min;
}

/**
 * Time for 4n against time for n: about 4 when linear, about 16 when quadratic. A ratio, not a bound on speed;
 * the smaller size is big enough for timer noise not to matter.
 */
function ratio(make: (n: number) => string, n: number): number {
  const limits = { maxEvents: 1_000_000, maxDepth: 64 };
  const small = make(n);
  const large = make(4 * n);
  splitBody(small, limits);
  return best(() => splitBody(large, limits)) / best(() => splitBody(small, limits));
}

const LINEAR = 10;

for (const [name, make, n] of [
  ["lines of {", (n: number) => "{\n".repeat(n), 20_000],
  ["broken JSON lines", (n: number) => '{"a": oops\n'.repeat(n), 20_000],
  ["broken lines closing on the same line", (n: number) => '{"a": oops}\n'.repeat(n), 5_000],
  ["nested openers closed late", (n: number) => `${'{"a":\n'.repeat(n)}1,}${"\n}".repeat(n)}`, 10_000],
  [
    "an unclosed string then many lines",
    (n: number) => `{"a": "${"x".repeat(8 * n)}\n${'{"b":1}\n'.repeat(n)}`,
    20_000,
  ],
  ["concatenated objects on one line", (n: number) => '{"a":1}'.repeat(n), 50_000],
] as const) {
  test(`splitting is linear: ${name} (time for 4n / time for n)`, () => {
    const r = ratio(make, n);
    assert.ok(r < LINEAR, `4x the input took ${r.toFixed(1)}x the time`);
  });
}

test("more events than the limit: the whole body is refused, naming the limit and its variable", () => {
  assert.throws(
    () => splitBody("{}\n".repeat(11), { maxEvents: 10, maxDepth: 64 }),
    (e: Error & { code?: string }) =>
      e.code === "RIPOSTE_TOO_MANY_EVENTS" && /more than 10 events \(RIPOSTE_INGEST_MAX_EVENTS\)/.test(e.message),
  );
  assert.throws(() => splitBody(`[${Array(11).fill("{}").join(",")}]`, { maxEvents: 10, maxDepth: 64 }));
  assert.equal(splitBody("{}\n".repeat(10), { maxEvents: 10, maxDepth: 64 }).length, 10);
});

test("an event nested deeper than the limit is one failed piece; its neighbours survive", () => {
  const deep = `${'{"a":'.repeat(100)}1${"}".repeat(100)}`;
  const out = splitBody(`{"a":1}\n${deep}\n{"b":2}`, { maxEvents: 10, maxDepth: 64 });
  assert.deepEqual(
    out.map((p) => (p.ok ? "ok" : p.code)),
    ["ok", "RIPOSTE_NESTING_TOO_DEEP", "ok"],
  );
  const arr = splitBody(`[{"a":1}, ${deep}, {"s":"],["}]`, { maxEvents: 10, maxDepth: 64 });
  assert.deepEqual(
    arr.map((p) => (p.ok ? p.text : p.code)),
    ['{"a":1}', "RIPOSTE_NESTING_TOO_DEEP", '{"s":"],["}'],
    "array elements keep their original text",
  );
  const pretty = splitBody(`${"{\n".repeat(70)}${"}\n".repeat(70)}{"ok":1}`, { maxEvents: 1000, maxDepth: 64 });
  assert.equal(pretty[0]?.ok === false && pretty[0].code, "RIPOSTE_NESTING_TOO_DEEP");
  assert.ok(pretty.at(-1)?.ok, "the object after the deep one is read");
});

test("a multi-line object may start right after another one on the same line", () => {
  const out = splitBody('{"a":1} {\n"b":2\n}\n{"c":3}\n');
  assert.deepEqual(
    out.map((p) => p.ok && p.event.kind === "json" && Object.keys(p.event.value)[0]),
    ["a", "b", "c"],
  );
});

test("fuzz finding: a string ending in a backslash does not carry past its line break", () => {
  const out = splitBody('a"\\\n{\n"k": 1\n}\n');
  assert.deepEqual(
    out.map((p) => (p.ok ? p.event.kind : "error")),
    ["text", "json"],
  );
});

test("fuzz finding: megabytes of nesting are refused without parsing them whole", () => {
  const limits = { maxEvents: 50_000, maxDepth: 64 };
  const arr = splitBody("[".repeat(1024 * 1024), limits);
  assert.deepEqual(
    arr.map((p) => !p.ok && p.code),
    ["RIPOSTE_NESTING_TOO_DEEP"],
  );
  const mixed = splitBody(`[{"a":1}, ${"[".repeat(200)}${"]".repeat(200)}, {"b":2}]`, limits);
  assert.deepEqual(
    mixed.map((p) => (p.ok ? "ok" : p.code)),
    ["ok", "RIPOSTE_NESTING_TOO_DEEP", "ok"],
    "the elements of a too-deep array are read one by one",
  );
  const ndjson = splitBody(`{"a":1}\n${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}\n{"b":2}`, limits);
  assert.deepEqual(
    ndjson.map((p) => (p.ok ? "ok" : p.code)),
    ["ok", "RIPOSTE_NESTING_TOO_DEEP", "ok"],
  );
  assert.throws(() => splitBody("{\n".repeat(1024 * 1024), limits), /RIPOSTE_INGEST_MAX_EVENTS/);
});

test("fuzz finding: a line cut inside a string does not hide the nesting of the next line", () => {
  const limits = { maxEvents: 100, maxDepth: 64 };
  const deep = `{"a":${"[".repeat(5_000)}${"]".repeat(5_000)}}`;
  for (const cut of ['{"k":"broken', '{"k":"broken\\']) {
    const out = splitBody(`${cut}\n${deep}\n{"b":2}`, limits);
    // The cut line fails (its unclosed `{` also counts the deep line as inside it); the deep line is caught.
    assert.equal(out.length, 3, cut);
    assert.equal(out[0]?.ok, false, cut);
    assert.deepEqual(
      out.slice(1).map((p) => (p.ok ? "ok" : p.code)),
      ["RIPOSTE_NESTING_TOO_DEEP", "ok"],
      cut,
    );
  }
});

/** jsonDepth's meaning, one character at a time: strings end at a quote or a line break, an escape never takes one. */
function depthByChars(s: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 10) inString = false;
      else if (c === 92) {
        if (s.charCodeAt(i + 1) !== 10) i++;
      } else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

test("jsonDepth, which skips through strings, agrees with a scan of every character", () => {
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const alphabet = ["{", "}", "[", "]", '"', "\\", "\n", "a", " ", ","];
  for (let t = 0; t < 50_000; t++) {
    let s = "";
    const len = Math.floor(next() * 30);
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    for (const limit of [Infinity, 2, 0]) assert.equal(jsonDepth(s, limit), depthByChars(s, limit), JSON.stringify(s));
  }
});
