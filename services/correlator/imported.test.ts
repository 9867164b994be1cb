/** Imported lists in state: import, load into the correlator's lists, refresh on a new version, local expiry. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../shared/log.ts";
import { MemoryState } from "../shared/state/index.ts";
import { ImportedLists, importList, listContents, listSummaries } from "./imported.ts";
import { IndicatorList } from "./lists.ts";

test("imported entries merge with the file list, reload on a new version and leave when they expire", async () => {
  let now = 1_000_000;
  const state = new MemoryState({ now: () => now });
  const fileList = new IndicatorList(["10.0.0.1"]);
  const lists = new Map([["iocs", fileList]]);
  const imported = new ImportedLists({ state, prefix: "p", lists, log: silentLogger, now: () => now });
  await importList(state, "p", "iocs", [{ value: "198.51.100.0/24", type: "cidr" }], 60_000, now);
  await importList(
    state,
    "p",
    "only-imported",
    [{ value: "evil.example", type: "domain", expires: now + 500 }],
    1,
    now,
  );
  await imported.load();
  assert.ok(fileList.has("198.51.100.9") && fileList.has("10.0.0.1"), "the same list object, file and import");
  const only = lists.get("only-imported") as IndicatorList;
  assert.ok(only.has("EVIL.example."), "a list with no file is added");

  await importList(state, "p", "iocs", [{ value: "::ffff:203.0.113.7", type: "ip" }], 60_000, now);
  assert.ok(!fileList.has("203.0.113.7"), "not before the next refresh");
  await imported.refresh();
  assert.ok(fileList.has("203.0.113.7"));

  now += 1_000;
  await imported.refresh();
  assert.ok(!only.has("evil.example"), "an expired entry leaves without a new version");
  assert.ok(fileList.has("203.0.113.7"));

  assert.deepEqual(
    (await listSummaries(state, "p", now)).map((s) => [s.name, s.count]),
    [
      ["iocs", 2],
      ["only-imported", 0],
    ],
  );
  assert.deepEqual(
    (await listContents(state, "p", "iocs", now)).map((e) => e.value),
    ["198.51.100.0/24", "203.0.113.7"].sort(),
  );
  await assert.rejects(importList(state, "p", "../x", [], 1, now), /not a list name/);
  await imported.stop();
  await state.close();
});
