import { test } from "node:test";
import assert from "node:assert/strict";
import { ActionStatus } from "../../schemas/index.ts";
import { GUARD_STATUSES } from "./audit.ts";

test("every status the guards write is an ActionStatus, so the shared ActionRecord schema accepts each audit", () => {
  for (const s of GUARD_STATUSES) assert.ok(ActionStatus.options.includes(s), s);
});
