import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterSeeds } from "./connect.ts";

test("cluster seeds: every node of the list, the default port, credentials and TLS from the first seed", () => {
  assert.deepEqual(clusterSeeds("rediss://app:s%40cret@10.0.0.1:7000, redis://10.0.0.2"), {
    nodes: [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 6379 },
    ],
    options: { username: "app", password: "s@cret", tls: {} },
  });
  assert.deepEqual(clusterSeeds("redis://h:1").options, {});
  assert.throws(() => clusterSeeds(" , "), /no cluster seed/);
});
