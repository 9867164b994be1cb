/** The CrowdStrike connector against the Falcon fake, through the executor: requests, token refresh, previews. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FALCON_CLIENT_ID,
  FALCON_CLIENT_SECRET,
  startFalconFake,
  type FalconFake,
} from "../../../../test/fakes/crowdstrike.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";

const WS = "0123456789abcdef0123456789abcdef";
const DC = "fedcba9876543210fedcba9876543210";

const step = (action: string, params: Record<string, string> = { host: "{{target.value}}" }, over = {}) =>
  playbookOf("falcon-test", [{ id: "s", connector: "crowdstrike", action, params, ...over }]);
const show = (r: { method: string; path: string; query: URLSearchParams }) =>
  `${r.method} ${r.path}${r.query.size ? `?${r.query.toString()}` : ""}`;

describe("crowdstrike connector", () => {
  let fake: FalconFake;
  before(async () => {
    fake = await startFalconFake({ "ws-042": WS, "10.1.2.42": WS, "dc-01": DC });
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.contained.clear();
  });

  const run = (action: string, host: string, params?: Record<string, string>, over?: object) =>
    runDecisions({
      playbook: step(action, params, over),
      decisions: [decisionFor("falcon-test", { type: "host", value: host })],
      connectorConfig: {
        crowdstrike: live(fake.url, { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET }),
      },
    });

  test("get_device by local IP: token, query, record; read-only enrichment", async () => {
    const [a] = await run("get_device", "10.1.2.42");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.deepEqual(fake.requests.map(show), [
      "POST /oauth2/token",
      "GET /devices/queries/devices/v1?filter=local_ip%3A%2710.1.2.42%27&limit=2",
      `GET /devices/entities/devices/v2?ids=${WS}`,
    ]);
    assert.deepEqual(a?.response, { device_id: WS, hostname: "ws-042", local_ip: "10.1.2.42", status: "normal" });
    assert.equal(fake.actions().length, 0);
  });

  test("get_device by device id skips the query", async () => {
    const [a] = await run("get_device", "x", { device_id: DC });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(fake.requests.slice(1).map(show), [`GET /devices/entities/devices/v2?ids=${DC}`]);
  });

  test("contain_host: one device action with the exact body", async () => {
    const [a] = await run("contain_host", "ws-042");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(fake.actions().map(show), ["POST /devices/entities/devices-actions/v2?action_name=contain"]);
    assert.deepEqual(JSON.parse(fake.actions()[0]?.body ?? ""), { ids: [WS] });
  });

  test("a refused token is replaced once; refused again, the action fails as auth", async () => {
    fake.faults.push({ status: 201, body: { access_token: "stale", token_type: "bearer", expires_in: 1799 } });
    const [a] = await run("get_device", "ws-042");
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.requests.filter((r) => r.path === "/oauth2/token").length, 2);
    fake.requests.length = 0;
    fake.faults.push(
      { status: 201, body: { access_token: "stale-1", token_type: "bearer", expires_in: 1799 } },
      { status: 401, body: { errors: [{ code: 401, message: "access denied, invalid bearer token" }] } },
      { status: 201, body: { access_token: "stale-2", token_type: "bearer", expires_in: 1799 } },
    );
    const [b] = await run("get_device", "ws-042");
    assert.equal(b?.status, "failed");
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.equal(fake.requests.filter((r) => r.path === "/oauth2/token").length, 2, "one refresh");
  });

  test("dry run: contain_host and get_device name their exact requests", async () => {
    const dry = async (action: string, params?: Record<string, string>) =>
      (
        await runDecisions({
          playbook: step(action, params),
          decisions: [decisionFor("falcon-test", { type: "host", value: "WS-042" })],
          connectorConfig: { crowdstrike: { url: undefined, credentials: {}, dryRun: true } },
        })
      )[0]?.response?.["would_send"];
    assert.deepEqual(await dry("contain_host"), [
      { method: "GET", path: "/devices/queries/devices/v1?filter=hostname%3A%27WS-042%27&limit=2" },
      { method: "GET", path: "/devices/entities/devices/v2?ids={device_id}" },
      {
        method: "POST",
        path: "/devices/entities/devices-actions/v2?action_name=contain",
        body: { ids: ["{device_id}"] },
      },
    ]);
    assert.deepEqual(await dry("lift_containment", { device_id: WS }), [
      { method: "GET", path: `/devices/entities/devices/v2?ids=${WS}` },
      {
        method: "POST",
        path: "/devices/entities/devices-actions/v2?action_name=lift_containment",
        body: { ids: [WS] },
      },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
