import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ciGet, compact, get, getAt, pathOf } from "./util.ts";
import { odataType } from "./microsoft-graph-evidence.ts";

test("ciGet matches keys case-insensitively, also the one character whose lower case is longer (U+0130)", () => {
  assert.equal(ciGet({ UserName: 1 }, "username"), 1);
  assert.equal(ciGet({ a: { BB: 2 } }, "A.bb"), 2);
  // "İD".toLowerCase() is "i̇d" (three units): it matches a path spelled that way, not "id".
  assert.equal(ciGet({ İD: 3 }, "i\u0307d"), 3);
  assert.equal(ciGet({ İD: 3 }, "id"), undefined);
  assert.equal(ciGet({ iD: 4, Id: 5 }, "ID"), 4);
});

test("odataType reads the key whatever its spelling, and nothing else", () => {
  assert.equal(odataType({ "@odata.type": "#a" }), "#a");
  assert.equal(odataType({ odata_type: "#b" }), "#b");
  assert.equal(odataType({ "O-Data.Type9": "#c" }), "#c");
  assert.equal(odataType({ "@odata.types": "#d", odatatyp: "#e", "@odata.type": 1 }), "");
});

test("compact drops undefined, empty arrays and objects without own keys", () => {
  const inherited = Object.create({ x: 1 }) as object;
  const out = compact({ a: undefined, b: [], c: {}, d: inherited, e: null, f: 0, g: [1], h: { k: 1 } });
  assert.deepEqual(Object.keys(out), ["e", "f", "g", "h"]);
});

test("getAt over a path split once by pathOf reads what get reads", () => {
  const key = fc.constantFrom("a", "b", "0", "", "__proto__", "length", "x y");
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom(null, undefined, 1, "s", true),
      fc.array(tie("node"), { maxLength: 3 }),
      fc.dictionary(key, tie("node"), { maxKeys: 4 }),
    ),
  })).node;
  const path = fc.array(key, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("."));
  fc.assert(
    fc.property(value, path, (o, p) => {
      assert.equal(getAt(o, pathOf(p)), get(o, p));
    }),
  );
});
