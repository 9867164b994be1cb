import { describe, test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import type { Decision, PlaybookFile } from "../../schemas/index.ts";
import { OUTCOME_HEADER, PlaybookFile as PlaybookSchema, targetKey } from "../../schemas/index.ts";
import { MemoryBus, type InMessage, type Subscription } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import {
  startFalconFake,
  FALCON_CLIENT_ID,
  FALCON_CLIENT_SECRET,
  type FalconFake,
} from "../../test/fakes/crowdstrike.ts";
import { pino } from "pino";
import { z } from "zod";
import { CONNECTORS, type ConnectorDescriptor } from "./connectors/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { Executor } from "./executor.ts";
import { eventually } from "../../test/support/env.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const topics = topicNames("unit");

function playbook(over: Record<string, unknown> = {}, steps?: unknown[]): PlaybookFile {
  return PlaybookSchema.parse({
    id: "isolate-host",
    version: 1,
    name: "Isolate",
    steps: steps ?? [
      {
        id: "contain",
        connector: "crowdstrike",
        action: "contain_host",
        params: { host: "{{target.value}}" },
        timeout: "2s",
        retry: { max: 2, backoff: "10ms" },
        lease: { ttl: "1h" },
        ...over,
      },
    ],
  });
}

function decision(id: string, host = "web-01"): Decision {
  return {
    id,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `a-${id}`,
      fingerprint: `f-${id}`,
      entity_key: `host:${host}`,
      class_uid: 2004,
      title: "t",
      source: "s",
      severity_id: 4,
      time: 1,
    },
    rule: { id: "r", version: 1, hash: "h", name: "r" },
    playbook: "isolate-host",
    target: { type: "host", value: host },
    params: {},
    approval: "none",
  };
}

const msg = (d: Decision, offset = 0): InMessage => ({
  topic: topics.decisions,
  partition: 0,
  offset: String(offset),
  key: d.target ? targetKey(d.target) : null,
  value: Buffer.from(JSON.stringify(d)),
  headers: {},
  timestamp: 0,
});

describe("executor against a CrowdStrike fake", () => {
  let edr: FalconFake;
  let bus: MemoryBus;
  let actions: Array<Record<string, unknown>>;
  let audit: Subscription;

  before(async () => {
    edr = await startFalconFake({ "web-01": DEVICE, "web-02": "fedcba9876543210fedcba9876543210" });
  });
  after(async () => edr.close());
  beforeEach(async () => {
    edr.requests.length = 0;
    edr.faults.length = 0;
    bus = new MemoryBus();
    await bus.ensureTopics([topics.actions, topics.dlq, topics.decisions].map((name) => ({ name, partitions: 1 })));
    actions = [];
    audit = await bus.subscribe({
      groupId: "audit",
      topics: [topics.actions],
      handler: async (b) =>
        void actions.push(...b.map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>)),
    });
  });

  afterEach(async () => {
    await audit.stop();
    await bus.close();
  });

  function executor(pb = playbook(), secret = FALCON_CLIENT_SECRET, dryRun = false): Executor {
    return new Executor({
      dryRun,
      bus,
      state: new MemoryState(),
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: CONNECTORS,
      connectorConfig: {
        crowdstrike: {
          url: edr.url,
          credentials: { client_id: FALCON_CLIENT_ID, client_secret: secret },
          dryRun: false,
        },
      },
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "unit",
    });
  }
  /** Waits until the audit consumer has read everything published to the actions topic (no fixed sleep). */
  const settle = async () => {
    const end = Number((await bus.offsets(topics.actions)).get(0)?.high ?? "0");
    await eventually(() => actions.length >= end, `the audit consumer to read ${end} action records`, 10_000);
  };

  test("contains the host once; a replayed decision calls nothing and re-publishes the same audit record", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    await ex.handle([msg(decision("d1"), 1)]);
    await settle();
    assert.equal(edr.actions().length, 1);
    assert.equal(actions.length, 2);
    assert.equal(actions[0]?.["status"], "succeeded");
    assert.deepEqual(actions[1], actions[0], "the stored audit record, same id");
    assert.deepEqual((actions[0]?.["response"] as Record<string, unknown>)["device_id"], DEVICE);
  });

  test("dry run, globally (RIPOSTE_DRY_RUN) and per playbook (dry_run: true): the exact requests audited, nothing sent", async () => {
    const wouldSend = (a: Record<string, unknown> | undefined) =>
      (a?.["response"] as Record<string, unknown> | undefined)?.["would_send"] as Array<Record<string, unknown>>;
    await executor(playbook(), FALCON_CLIENT_SECRET, true).handle([msg(decision("dry-global"))]);
    const dryPlaybook: PlaybookFile = { ...playbook(), dry_run: true };
    await executor(dryPlaybook).handle([msg(decision("dry-playbook", "web-02"))]);
    await settle();
    assert.equal(edr.requests.length, 0, "no request reached the EDR, not even a token or a lookup");
    assert.deepEqual(
      actions.map((a) => [a["decision_id"], a["status"]]),
      [
        ["dry-global", "dry_run"],
        ["dry-playbook", "dry_run"],
      ],
    );
    const reason = (a: Record<string, unknown> | undefined) => (a?.["response"] as Record<string, unknown>)["reason"];
    assert.match(String(reason(actions[0])), /RIPOSTE_DRY_RUN=true/);
    assert.match(String(reason(actions[1])), /playbook isolate-host runs in dry run/);
    for (const a of actions) {
      const sent = wouldSend(a);
      assert.ok(Array.isArray(sent) && sent.length > 0, "the requests the connector would send");
      assert.ok(
        sent.some((r) => r["method"] === "POST" && String(r["path"]).includes("/devices/entities/devices-actions/v2")),
        JSON.stringify(sent),
      );
    }
    // The same playbook without dry_run, on the same configuration, acts.
    await executor().handle([msg(decision("live"))]);
    assert.equal(edr.actions().length, 1);
  });

  test("decisions whose outcome header is not respond are skipped unparsed; respond and header-less ones run", async () => {
    const ex = executor();
    const dlq: InMessage[] = [];
    const sub = await bus.subscribe({
      groupId: "dlq",
      topics: [topics.dlq],
      handler: async (b) => void dlq.push(...b),
    });
    const garbage = {
      ...msg(decision("d0")),
      value: Buffer.from("{not json"),
      headers: { [OUTCOME_HEADER]: "no_match" },
    };
    await ex.handle([garbage]);
    await ex.handle([{ ...msg(decision("d1"), 1), headers: { [OUTCOME_HEADER]: "respond" } }]);
    await ex.handle([msg(decision("d2", "web-02"), 2)]);
    await ex.handle([{ ...msg(decision("d3"), 3), value: Buffer.from("{not json") }]);
    await settle();
    await eventually(() => dlq.length === 1, "the header-less garbage record in the DLQ", 5_000);
    await sub.stop();
    assert.equal(edr.actions().length, 2, "d1 and d2 contained; the no_match record skipped without a parse or DLQ");
  });

  test("if the audit cannot be published after the vendor acted, the redelivery does not act again", async () => {
    const ex = executor();
    const publish = bus.publish.bind(bus);
    let failOnce = true;
    bus.publish = async (topic, messages) => {
      if (topic === topics.actions && failOnce) {
        failOnce = false;
        throw new RiposteError("RIPOSTE_BUS_UNAVAILABLE", "Kafka did not acknowledge");
      }
      return publish(topic, messages);
    };
    await assert.rejects(ex.handle([msg(decision("d1"))]), /did not acknowledge/);
    await ex.handle([msg(decision("d1"))]);
    await settle();
    assert.equal(edr.actions().length, 1, "one containment");
    assert.equal(actions.length, 1, "the audit record arrives with the redelivery");
    assert.equal(actions[0]?.["status"], "succeeded");
  });

  /** A two-step playbook whose first step fails on an unknown host (the lookup finds no device). */
  const failingFirst = (onFailure: "abort" | "continue") =>
    playbook({}, [
      {
        id: "contain",
        connector: "crowdstrike",
        action: "contain_host",
        params: { host: "{{target.value}}" },
        retry: { max: 0, backoff: "10ms" },
        on_failure: onFailure,
      },
      { id: "lift", connector: "crowdstrike", action: "lift_containment", params: { host: "{{target.value}}" } },
    ]);
  const lookups = () => edr.requests.filter((r) => r.path === "/devices/queries/devices/v1");

  test("on_failure abort holds on redelivery too", async () => {
    const ex = executor(failingFirst("abort"));
    await ex.handle([msg(decision("d1", "ghost-1"))]);
    await ex.handle([msg(decision("d1", "ghost-1"), 1)]);
    await settle();
    assert.deepEqual(
      actions.map((a) => [a["step"], a["status"], (a["error"] as Record<string, unknown> | undefined)?.["code"]]),
      [
        ["contain", "failed", "RIPOSTE_CONNECTOR_NOT_FOUND"],
        ["contain", "failed", "RIPOSTE_CONNECTOR_NOT_FOUND"],
      ],
      "the failed step is audited, then re-published on redelivery; the aborted step is never recorded",
    );
    assert.deepEqual(actions[1], actions[0], "the redelivery re-publishes the stored record (same id)");
    assert.equal(actions[0]?.["attempts"], 1, "not found is not retried");
    assert.equal(actions[0]?.["decision_id"], "d1");
    assert.equal(lookups().length, 1, "one device lookup: the redelivery does not call the vendor again");
    assert.equal(lookups()[0]?.query.get("filter"), "hostname:'ghost-1'");
    assert.equal(edr.actions().length, 0, "no contain or lift request reached the vendor");
  });

  test("on_failure continue runs the next step (the contrast to abort)", async () => {
    await executor(failingFirst("continue")).handle([msg(decision("d1", "ghost-1"))]);
    await settle();
    assert.deepEqual(
      actions.map((a) => [a["step"], a["status"]]),
      [
        ["contain", "failed"],
        ["lift", "failed"],
      ],
    );
    assert.equal(lookups().length, 2, "each step looked the host up");
    assert.notEqual(actions[0]?.["id"], actions[1]?.["id"], "one action id per step");
  });

  test("a vendor error quoting a URL reaches the audit record redacted", async () => {
    const secret = "hunter2-0123456789";
    edr.faults.push({
      status: 400,
      body: {
        errors: [{ code: 400, message: `see https://svc:${secret}@falcon.example/oauth2?client_secret=${secret}` }],
      },
    });
    await executor().handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "failed");
    const err = actions[0]?.["error"] as Record<string, unknown>;
    assert.equal(err["code"], "RIPOSTE_CONNECTOR_REJECTED");
    assert.ok(!JSON.stringify(actions).includes(secret), JSON.stringify(err));
    assert.match(String(err["message"]), /https:\/\/\[redacted\]@falcon\.example\/oauth2\?client_secret=\[redacted\]/);
  });

  test("a connector URL with user info is refused when the executor starts, without echoing it", () => {
    const pb = playbook();
    assert.throws(
      () =>
        new Executor({
          bus,
          state: new MemoryState(),
          topics,
          playbooks: new Map([[pb.id, pb]]),
          connectors: CONNECTORS,
          connectorConfig: {
            crowdstrike: {
              url: edr.url.replace("http://", "http://svc:hunter2-0123456789@"),
              credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
              dryRun: false,
            },
          },
          log: silentLogger,
          metrics: new Metrics(),
          statePrefix: "unit",
        }),
      (e) => e instanceof RiposteError && /user info/.test(e.message) && !e.message.includes("hunter2"),
    );
  });

  test("an error a connector throws with a URL in it is redacted in the audit record and the log line", async () => {
    const secret = "hunter2-0123456789";
    const leaky: ConnectorDescriptor<null> = {
      name: "leaky",
      title: "Leaky",
      credentials: [],
      client: () => null,
      actions: {
        ping: {
          classification: "notify",
          idempotent: true,
          description: "fails quoting its URL",
          input: z.object({}),
          run: async () => {
            throw new Error(`GET https://svc:${secret}@leaky.example/v1/ping?api_key=${secret} failed`);
          },
        },
      },
    };
    const pb = playbook({}, [{ id: "ping", connector: "leaky", action: "ping", retry: { max: 0, backoff: "1ms" } }]);
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const ex = new Executor({
      bus,
      state: new MemoryState(),
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: [leaky],
      connectorConfig: { leaky: { url: "https://leaky.example", credentials: {}, dryRun: false } },
      log,
      metrics: new Metrics(),
      statePrefix: "unit",
    });
    await ex.handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "failed");
    const err = actions[0]?.["error"] as Record<string, unknown>;
    assert.equal(
      err["message"],
      "GET https://[redacted]@leaky.example/v1/ping?api_key=[redacted] failed",
      "audit record redacted",
    );
    assert.ok(
      lines.some((l) => l.includes('"msg":"action"')),
      "the action was logged",
    );
    assert.ok(!lines.join("").includes(secret), "log lines redacted");
  });

  test("a second decision for the same host within the lease is skipped, not sent", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1")), msg(decision("d2"), 1)]);
    await settle();
    assert.equal(edr.actions().length, 1);
    assert.deepEqual(
      actions.map((a) => a["status"]),
      ["succeeded", "skipped_lease"],
    );
  });

  test("the lease is per host, whatever the case of its name", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1")), msg({ ...decision("d2"), target: { type: "host", value: "WEB-01" } }, 1)]);
    await settle();
    assert.deepEqual(
      actions.map((a) => a["status"]),
      ["succeeded", "skipped_lease"],
    );
  });

  test("429 with Retry-After is waited out and retried", async () => {
    edr.faults.push({
      status: 429,
      headers: { "retry-after": "0.2" },
      body: { errors: [{ code: 429, message: "API rate limit exceeded" }] },
    });
    const started = Date.now();
    await executor().handle([msg(decision("d1"))]);
    await settle();
    assert.ok(Date.now() - started >= 200, "waited for Retry-After");
    assert.equal(actions[0]?.["status"], "succeeded");
    assert.equal(actions[0]?.["attempts"], 3, "the device lookup twice (429, then fine), the contain call once");
  });

  test("5xx is retried with backoff; success on a later attempt", async () => {
    edr.faults.push(
      { status: 503, body: { errors: [{ code: 503, message: "unavailable" }] } },
      { status: 500, body: {} },
    );
    await executor().handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "succeeded");
    assert.equal(
      actions[0]?.["attempts"],
      4,
      "two failed lookup attempts (token call, then device lookup), the third finds the device; one contain call",
    );
  });

  test("a timeout is retried, then recorded as failed with its code; the lease is released", async () => {
    const pb = playbook({ timeout: "100ms", retry: { max: 1, backoff: "10ms" } });
    for (let i = 0; i < 4; i++) edr.faults.push({ status: 200, body: {}, delayMs: 500 });
    const ex = executor(pb);
    await ex.handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "failed");
    assert.equal((actions[0]?.["error"] as Record<string, unknown>)["code"], "RIPOSTE_CONNECTOR_TIMEOUT");
    assert.equal(actions[0]?.["attempts"], 2);
    edr.faults.length = 0;
    await ex.handle([msg(decision("d2"), 1)]);
    await settle();
    assert.equal(actions[1]?.["status"], "succeeded", "a failed containment does not hold the lease");
  });

  test("wrong credentials: 401 is not retried and says what to check", async () => {
    await executor(playbook(), "wrong-secret-wrong-secret").handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "failed");
    const err = actions[0]?.["error"] as Record<string, unknown>;
    assert.equal(err["code"], "RIPOSTE_CONNECTOR_AUTH");
    assert.match(String(err["message"]), /credentials/);
    assert.equal(edr.requests.length, 1);
  });

  test("an unknown host is not found (404-like empty lookup) and not retried", async () => {
    await executor().handle([msg(decision("d1", "ghost-99"))]);
    await settle();
    assert.equal((actions[0]?.["error"] as Record<string, unknown>)["code"], "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.equal(edr.actions().length, 0);
  });

  test("an expired token is refreshed once", async () => {
    const ex = executor();
    await ex.handle([msg(decision("d1"))]);
    edr.faults.push({ status: 401, body: { errors: [{ code: 401, message: "access denied, authorization failed" }] } });
    await ex.handle([msg(decision("d3", "web-02"), 1)]);
    await settle();
    assert.deepEqual(
      actions.map((a) => a["status"]),
      ["succeeded", "succeeded"],
    );
    assert.equal(edr.requests.filter((r) => r.path === "/oauth2/token").length, 2);
  });

  test("unconfigured connectors run dry: audited, nothing sent", async () => {
    const pb = playbook();
    const ex = new Executor({
      bus,
      state: new MemoryState(),
      topics,
      playbooks: new Map([[pb.id, pb]]),
      connectors: CONNECTORS,
      connectorConfig: {},
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "unit",
    });
    await ex.handle([msg(decision("d1"))]);
    await settle();
    assert.equal(actions[0]?.["status"], "dry_run");
    assert.equal(edr.requests.length, 0);
  });

  test("approval required: recorded as awaiting approval, nothing sent", async () => {
    await executor().handle([msg({ ...decision("d1"), approval: "required" })]);
    await settle();
    assert.equal(actions[0]?.["status"], "awaiting_approval");
    assert.equal(edr.requests.length, 0);
  });

  test("get_device looks the host up (enrich): device id, hostname, containment status; nothing is contained", async () => {
    const pb = PlaybookSchema.parse({
      id: "isolate-host",
      version: 1,
      name: "Look up",
      steps: [{ id: "lookup", connector: "crowdstrike", action: "get_device", params: { host: "{{target.value}}" } }],
    });
    await executor(pb).handle([msg(decision("d-lookup"))]);
    await settle();
    assert.equal(edr.actions().length, 0, "no device action");
    assert.equal(actions[0]?.["status"], "succeeded");
    assert.equal(actions[0]?.["classification"], "enrich");
    const response = actions[0]?.["response"] as Record<string, unknown>;
    assert.equal(response["device_id"], DEVICE);
    assert.equal(response["hostname"], "web-01");
  });

  test("a playbook naming an unknown connector fails at start", () => {
    assert.throws(() => executor(playbook({ connector: "nope" })), /unknown connector "nope"/);
  });
});
