/** The PAN-OS answer parser: what it reads, what it refuses, and that hostile input costs linear work at most. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readUidResponse } from "./transport.ts";
import { escapeXml, findAll, parseXml } from "./xml.ts";

test("reads elements, attributes, text, CDATA and the predefined and numeric entities", () => {
  const root = parseXml(
    `<?xml version="1.0"?><!-- c --><response status='error' code="14"><msg a="&quot;x&#39;">a &lt;b&gt; &amp; &#x41;<![CDATA[<raw>]]></msg></response>`,
  );
  assert.equal(root.name, "response");
  assert.deepEqual({ ...root.attrs }, { status: "error", code: "14" });
  const msg = findAll(root, "msg")[0];
  assert.equal(msg?.attrs["a"], `"x'`);
  assert.equal(msg?.text, "a <b> & A<raw>");
});

test("refuses DOCTYPEs, unknown entities, mismatched or unclosed tags, and text outside the root", () => {
  for (const bad of [
    '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>',
    "<r>&x;</r>",
    "<r><a></b></r>",
    "<r><a>",
    "<r/>junk",
    '<r a="1" a="2"/>',
    "<r a=1/>",
    "",
    "not xml",
  ])
    assert.throws(() => parseXml(bad), { code: "RIPOSTE_CONNECTOR_UNAVAILABLE" }, bad);
});

test("depth, size and element count are bounded", () => {
  const deep = "<a>".repeat(100) + "</a>".repeat(100);
  assert.throws(() => parseXml(deep), /deeper than 32/);
  assert.throws(() => parseXml(`<r>${"x".repeat(100)}</r>`, { maxChars: 50, maxDepth: 5, maxElements: 5 }), /larger/);
  assert.throws(
    () => parseXml(`<r>${"<e/>".repeat(10)}</r>`, { maxChars: 1000, maxDepth: 5, maxElements: 5 }),
    /elements/,
  );
  // A large flat answer (many entries) is read whole.
  const many = `<r>${'<entry ip="10.0.0.1" message="m"/>'.repeat(50_000)}</r>`;
  assert.equal(parseXml(many).children.length, 50_000);
  // Long runs that a backtracking parser would rescan: an unterminated quote, an unterminated reference.
  assert.throws(() => parseXml(`<r a="${"x".repeat(1_000_000)}`), /missing/);
  assert.throws(() => parseXml(`<r>&${"x".repeat(1_000_000)}</r>`), /reference/);
});

test("escapeXml escapes markup and refuses control characters", () => {
  assert.equal(escapeXml(`a<b>&"c'`), "a&lt;b&gt;&amp;&quot;c&apos;");
  assert.throws(() => escapeXml("a\u0000b"), { code: "RIPOSTE_CONNECTOR_REJECTED" });
});

test("uid-response: success, benign per-entry errors, refusals, and whole-request errors by code", () => {
  const update = {
    register: [{ ip: "10.0.0.1", tag: "t", timeout: 5 }],
    unregister: [{ ip: "10.0.0.2", tag: "t" }],
  };
  assert.deepEqual(
    readUidResponse('<response status="success"><result/></response>', update).map((r) => r.ok),
    [true, true],
  );
  const mixed = readUidResponse(
    '<response status="error"><msg><line><uid-response><payload><register><entry ip="10.0.0.1" message="tag t already exists, ignore"/></register>' +
      '<unregister><entry ip="10.0.0.2" message="invalid"/></unregister></payload></uid-response></line></msg></response>',
    update,
  );
  assert.deepEqual(
    mixed.map((r) => [r.ok, r.already, r.message]),
    [
      [true, true, "tag t already exists, ignore"],
      [false, false, "invalid"],
    ],
  );
  const code = (c: string) => {
    try {
      readUidResponse(`<response status="error" code="${c}"><msg><line>boom</line></msg></response>`, update);
      return "none";
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  assert.equal(code("403"), "RIPOSTE_CONNECTOR_AUTH");
  assert.equal(code("22"), "RIPOSTE_CONNECTOR_AUTH");
  assert.equal(code("5"), "RIPOSTE_CONNECTOR_UNAVAILABLE");
  assert.equal(code("18"), "RIPOSTE_CONNECTOR_REJECTED");
  assert.throws(() => readUidResponse("<other/>", update), { code: "RIPOSTE_CONNECTOR_UNAVAILABLE" });
});
