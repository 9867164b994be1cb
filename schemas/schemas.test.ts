import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { jsonSchemas } from "../services/cli/schemas.ts";
import { NormalizedEvent } from "./ocsf.ts";

test("the committed JSON Schema files match the zod schemas (run `npm run schemas:export` after changing them)", () => {
  for (const [file, text] of Object.entries(jsonSchemas())) {
    const committed = readFileSync(new URL(`./json/${file}`, import.meta.url), "utf8");
    assert.equal(committed, text, `schemas/json/${file} is stale`);
  }
});

test("the normalized-event schema is a union of the OCSF classes Riposte emits, one branch per class", () => {
  const schema = JSON.parse(jsonSchemas()["normalized-event.schema.json"] ?? "{}") as {
    oneOf?: unknown[];
    anyOf?: unknown[];
  };
  assert.equal((schema.oneOf ?? schema.anyOf ?? []).length, NormalizedEvent.options.length);
  assert.ok(NormalizedEvent.options.length >= 3);
});
