import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "./config.ts";

const drop = (value: string | undefined) => loadConfig({ RIPOSTE_SOURCE_DROP_CLASSES: value }).sourceDropClasses;

test("RIPOSTE_SOURCE_DROP_CLASSES: off by default; source:class+class pairs; * for every source", () => {
  assert.deepEqual(loadConfig({}).sourceDropClasses, {});
  assert.deepEqual(drop(""), {});
  assert.deepEqual(drop("edge-fw:4001+4003,idp:0"), { "edge-fw": [4001, 4003], idp: [0] });
  assert.deepEqual(drop(" *:4002 , ids:4001+4001 "), { "*": [4002], ids: [4001] });
  assert.ok(Object.isFrozen(drop("ids:0")));
});

test("RIPOSTE_SOURCE_DROP_CLASSES: every mistake is refused at start, naming the variable", () => {
  const refused = (value: string, why: RegExp) =>
    assert.throws(
      () => drop(value),
      (e: Error & { code?: string }) =>
        e.code === "RIPOSTE_CONFIG_INVALID" && /RIPOSTE_SOURCE_DROP_CLASSES/.test(e.message) && why.test(e.message),
      value,
    );
  refused("edge-fw", /expected source:class\+class pairs/);
  refused("edge-fw:", /expected source:class\+class pairs/);
  refused(":4001", /expected source:class\+class pairs/);
  refused("edge fw:4001", /source names are 1-64 letters/);
  refused("ids:4001,ids:0", /listed twice/);
  refused("ids:9999", /"9999" is not an OCSF class Riposte emits; droppable: .*4001/);
  refused("ids:dns", /"dns" is not an OCSF class/);
  refused("ids:2004", /2004 \(Detection Finding\) holds alerts and is never dropped/);
});
