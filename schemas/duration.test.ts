import { test } from "node:test";
import assert from "node:assert/strict";
import { Duration, PlaybookFile, RuleFile, durationProblem, parseDuration } from "./index.ts";

test("parseDuration: positive durations in milliseconds; zero, negative, malformed and overlong are undefined", () => {
  assert.deepEqual(
    ["1ms", "30s", "5m", "1h", "7d", "007s", " 2m "].map(parseDuration),
    [1, 30_000, 300_000, 3_600_000, 604_800_000, 7_000, 120_000],
  );
  for (const s of ["0s", "0ms", "000d", "-5s", "5", "5x", "1.5s", "", "99999999999999999999d"])
    assert.equal(parseDuration(s), undefined, s);
  assert.equal(durationProblem("0s"), 'must be positive: "0s" is zero (use at least 1ms)');
  assert.equal(durationProblem("-5s"), 'must be positive: "-5s" is negative');
  assert.equal(durationProblem("10s"), undefined);
});

test("the Duration schema refuses zero and negative with a clear message", () => {
  assert.equal(Duration.parse("250ms"), 250);
  const zero = Duration.safeParse("0s");
  assert.equal(zero.success, false);
  assert.deepEqual(
    zero.error?.issues.map((i) => i.message),
    ['must be positive: "0s" is zero (use at least 1ms)'],
    "one issue, saying why",
  );
  assert.deepEqual(
    Duration.safeParse("-1m").error?.issues.map((i) => i.message),
    ['must be positive: "-1m" is negative'],
  );
});

test("a rule's dedup window and a playbook's timeout, backoff and lease TTL cannot be zero", () => {
  const rule = RuleFile.safeParse({
    id: "r",
    version: 1,
    name: "r",
    match: { fact: "severity_id", operator: "equal", value: 5 },
    dedup: { fields: ["device.hostname"], window: "0s" },
  });
  assert.deepEqual(
    rule.error?.issues.map((i) => [i.path.join("."), i.message]),
    [["dedup.window", 'must be positive: "0s" is zero (use at least 1ms)']],
  );
  const pb = PlaybookFile.safeParse({
    id: "p",
    version: 1,
    name: "p",
    steps: [
      {
        id: "s",
        connector: "c",
        action: "a",
        timeout: "0ms",
        retry: { max: 1, backoff: "0s" },
        lease: { ttl: "0h" },
      },
    ],
  });
  assert.deepEqual(pb.error?.issues.map((i) => i.path.join(".")).sort(), [
    "steps.0.lease.ttl",
    "steps.0.retry.backoff",
    "steps.0.timeout",
  ]);
});
