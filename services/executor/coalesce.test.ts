/**
 * Coalescing: block_ip steps of many decisions within the window go out as ⌈N/max⌉ vendor requests (an HTTP
 * firewall fake taking User-ID register messages; the EDL: one state operation per batch), while each decision
 * keeps its own claim and audit record. A failed request fails or retries each of its members; a per-entry refusal
 * fails only that member. Requests are counted at the fake and at the state store.
 */
import { describe, test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { PlaybookFile, targetKey, type Decision } from "../../schemas/index.ts";
import { MemoryBus, type InMessage } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState, type StateStore } from "../shared/state/index.ts";
import { FAKEWALL_KEY, fakewallConnector, startUserIdFake, type UserIdFake } from "../../test/fakes/userid-firewall.ts";
import { PANOS_KEY, PANOS_TAG, startPanosFake } from "../../test/fakes/panos.ts";
import { CONNECTORS, listEntries } from "./connectors/index.ts";
import { edlKey } from "./connectors/edl/list.ts";
import { Executor } from "./executor.ts";
import { Guards, defaultGuardSettings } from "./guards.ts";

const topics = topicNames("coalesce");
const ip = (i: number) => `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`;

const playbook = (connector: "edl" | "fakewall" | "panos") =>
  PlaybookFile.parse({
    id: "block-ip",
    version: 1,
    name: "Block",
    steps: [
      {
        id: "block",
        connector,
        action: "block_ip",
        params: connector === "edl" ? { ip: "{{target.value}}", list: "block", ttl: "1h" } : { ip: "{{target.value}}" },
        timeout: "10s",
        retry: { max: 2, backoff: "10ms" },
      },
    ],
  });

function decision(i: number, prefix = "d"): InMessage {
  const d: Decision = {
    id: `${prefix}${i}`,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `a${i}`,
      fingerprint: "f",
      entity_key: `ip:${ip(i)}`,
      class_uid: 2004,
      title: "t",
      source: "s",
      severity_id: 4,
      time: 1,
    },
    rule: { id: "r", version: 1, hash: "h", name: "r" },
    playbook: "block-ip",
    target: { type: "ip", value: ip(i) },
    params: {},
    approval: "none",
  };
  return {
    topic: topics.decisions,
    partition: 0,
    offset: String(i),
    key: targetKey(d.target ?? { type: "ip", value: "" }),
    value: Buffer.from(JSON.stringify(d)),
    headers: {},
    timestamp: 0,
  };
}

describe("coalesced IP blocks", () => {
  let fw: UserIdFake;
  let bus: MemoryBus;
  let records: Array<Record<string, unknown>>;

  before(async () => {
    fw = await startUserIdFake();
  });
  after(() => fw.close());
  beforeEach(async () => {
    fw.requests.length = 0;
    fw.batches.length = 0;
    fw.faults.length = 0;
    fw.registered.clear();
    fw.refuse.clear();
    bus = new MemoryBus();
    await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
    records = [];
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, messages) => {
      if (topic === topics.actions)
        for (const m of messages) records.push(JSON.parse(String(m.value)) as Record<string, unknown>);
      return publish(topic, messages);
    };
  });
  afterEach(() => bus.close());

  const executor = (state: StateStore, connector: "edl" | "fakewall" | "panos", panosUrl = "") => {
    const pb = playbook(connector);
    return new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: [...CONNECTORS, fakewallConnector],
      connectorConfig: {
        fakewall: { url: fw.url, credentials: { api_key: FAKEWALL_KEY }, dryRun: false },
        panos: { url: panosUrl, credentials: { api_key: PANOS_KEY, tag: PANOS_TAG }, dryRun: panosUrl === "" },
      },
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "coalesce",
      guards: new Guards({ state, prefix: "coalesce", settings: defaultGuardSettings({ budgets: [] }) }),
      // A window far longer than the batch takes to arrive, so the count does not depend on the machine's speed.
      coalesce: { windowMs: 2_000, max: 100 },
    });
  };

  test("250 blocks to an HTTP firewall: 3 register requests (100, 100, 50), one audit record each", async () => {
    const ex = executor(new MemoryState(), "fakewall");
    const batch = Array.from({ length: 250 }, (_, i) => decision(i));
    await ex.handle(batch);
    assert.equal(fw.requests.length, 3, "⌈250/100⌉ vendor requests");
    assert.deepEqual(
      fw.batches.map((b) => b.length).sort((a, b) => b - a),
      [100, 100, 50],
    );
    assert.equal(fw.registered.size, 250);
    assert.deepEqual(new Set(fw.batches.flat()), new Set(batch.map((_, i) => ip(i))), "each address once");
    const body = new URLSearchParams(fw.requests[0]?.body ?? "");
    assert.equal(body.get("type"), "user-id");
    assert.match(
      body.get("cmd") ?? "",
      /^<uid-message><version>2\.0<\/version><type>update<\/type><payload><register>/,
    );
    assert.equal(records.length, 250);
    assert.equal(new Set(records.map((r) => r["id"])).size, 250, "each decision its own record");
    assert.ok(records.every((r) => r["status"] === "succeeded" && r["attempts"] === 1));
    assert.deepEqual(new Set(records.map((r) => r["decision_id"])), new Set(batch.map((_, i) => `d${i}`)));
    // Redelivered: no request at all; the stored records again.
    await ex.handle(batch);
    assert.equal(fw.requests.length, 3);
    assert.equal(records.length, 500);
  });

  test("a request that fails with a 503 retries each of its members, in the next batch", async () => {
    const ex = executor(new MemoryState(), "fakewall");
    fw.faults.push({ status: 503, raw: '<response status="error"/>' });
    await ex.handle(Array.from({ length: 60 }, (_, i) => decision(i)));
    assert.equal(fw.requests.length, 2, "the failed request and one retry of all 60");
    assert.equal(fw.registered.size, 60);
    assert.equal(records.length, 60);
    assert.ok(
      records.every((r) => r["status"] === "succeeded" && r["attempts"] === 2),
      "each retried once",
    );
  });

  test("an entry the firewall refuses fails only its own decision", async () => {
    const ex = executor(new MemoryState(), "fakewall");
    fw.refuse.add(ip(7));
    await ex.handle(Array.from({ length: 20 }, (_, i) => decision(i)));
    assert.equal(fw.requests.length, 1, "a refusal is not retried");
    const failed = records.filter((r) => r["status"] !== "succeeded");
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.["decision_id"], "d7");
    assert.equal(failed[0]?.["status"], "failed");
    assert.match(String((failed[0]?.["error"] as Record<string, unknown>)["message"]), /max registered-ip/);
    assert.equal(records.length, 20);
  });

  test("250 blocks to PAN-OS: 3 User-ID register requests, every address tagged, one audit record each", async () => {
    const pan = await startPanosFake();
    try {
      const ex = executor(new MemoryState(), "panos", pan.url);
      await ex.handle(Array.from({ length: 250 }, (_, i) => decision(i)));
      assert.equal(pan.requests.length, 3, "⌈250/100⌉ vendor requests");
      assert.equal(pan.registered.size, 250);
      assert.equal(records.length, 250);
      assert.equal(new Set(records.map((r) => r["id"])).size, 250);
      assert.ok(records.every((r) => r["status"] === "succeeded"));
    } finally {
      await pan.close();
    }
  });

  test("250 blocks on the EDL: 3 state writes to the list, every entry served, one audit record each", async () => {
    const state = new MemoryState();
    let writes = 0;
    const counted = Object.create(state) as StateStore;
    const key = edlKey("coalesce", "block");
    counted.append = async (k, entries, cutoff, cap, ttl) => {
      if (k === key) writes++;
      return state.append(k, entries, cutoff, cap, ttl);
    };
    const ex = executor(counted, "edl");
    await ex.handle(Array.from({ length: 250 }, (_, i) => decision(i)));
    assert.equal(writes, 3, "⌈250/100⌉ list updates");
    const listed = await listEntries(state, "coalesce", "block", Date.now());
    assert.equal(listed.length, 250);
    assert.equal(records.length, 250);
    assert.equal(new Set(records.map((r) => r["id"])).size, 250);
    assert.ok(records.every((r) => r["status"] === "succeeded"));
  });
});
