/** The Defender for Endpoint connector against the Defender fake, through the executor (guards, retries, audit). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startDefenderFake, defenderError, type DefenderFake } from "../../../../test/fakes/defender.ts";
import { malformed } from "../../../../test/fakes/route-faults.ts";
import { ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET, ENTRA_TENANT } from "../../../../test/fakes/entra.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { MemoryState } from "../../../shared/state/index.ts";

const WS = {
  id: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
  computerDnsName: "ws-042.contoso.com",
  lastIpAddress: "10.1.2.42",
};
const DC = {
  id: "2f6cd0e8f524eee8a13d3a43f529813c95e1dd18",
  computerDnsName: "dc-01.contoso.com",
  lastIpAddress: "10.1.0.10",
};
const DUP_A = {
  id: "3a7de1f9a635fff9b24e4b54a63a924da6f2ee29",
  computerDnsName: "lab-a.contoso.com",
  lastIpAddress: "10.9.9.9",
};
const DUP_B = {
  id: "4b8ef2a0b746aaa0c35f5c65b74ba35eb7a3ff30",
  computerDnsName: "lab-b.contoso.com",
  lastIpAddress: "10.9.9.9",
};

const step = (action: string, params: Record<string, unknown> = { host: "{{target.value}}" }, over = {}) =>
  playbookOf("defender-test", [{ id: "s", connector: "defender", action, params, ...over }]);

const show = (r: { method: string; path: string; query: URLSearchParams }) =>
  `${r.method} ${r.path}${r.query.size ? `?${decodeURIComponent(r.query.toString()).replace(/\+/g, " ")}` : ""}`;

describe("defender connector", () => {
  let fake: DefenderFake;
  before(async () => {
    fake = await startDefenderFake([WS, DC, DUP_A, DUP_B]);
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.machineActions.length = 0;
    fake.forbidden.clear();
    fake.routeFaults.clear();
    fake.entra.tokenRequests.length = 0;
    fake.entra.refuseAll = false;
    fake.pageSize = 50;
  });

  const config = (over: Record<string, string> = {}) => ({
    defender: live(fake.url, {
      tenant_id: ENTRA_TENANT,
      client_id: ENTRA_CLIENT_ID,
      client_secret: ENTRA_CLIENT_SECRET,
      auth_url: fake.url,
      ...over,
    }),
  });
  const run = (
    action: string,
    host: string,
    opts: {
      params?: Record<string, unknown>;
      creds?: Record<string, string>;
      protect?: string[];
      over?: object;
      state?: MemoryState;
    } = {},
  ) =>
    runDecisions({
      playbook: step(action, opts.params, opts.over),
      decisions: [decisionFor("defender-test", { type: "host", value: host })],
      connectorConfig: config(opts.creds),
      ...(opts.state ? { state: opts.state } : {}),
      ...(opts.protect ? { protect: { ips: opts.protect } } : {}),
    });

  test("isolate_machine: client-credentials token, machine by DNS name, then one isolate with the exact body", async () => {
    const [a] = await run("isolate_machine", "ws-042.contoso.com", {
      params: { host: "{{target.value}}", comment: "Riposte: ransomware on ws-042" },
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "containment");
    const [token] = fake.entra.tokenRequests;
    assert.deepEqual(Object.fromEntries(token ?? []), {
      grant_type: "client_credentials",
      client_id: ENTRA_CLIENT_ID,
      client_secret: ENTRA_CLIENT_SECRET,
      scope: "https://api.securitycenter.microsoft.com/.default",
    });
    assert.deepEqual(fake.requests.map(show), [
      `POST /${ENTRA_TENANT}/oauth2/v2.0/token`,
      "GET /api/machines?$filter=computerDnsName eq 'ws-042.contoso.com'",
      `POST /api/machines/${WS.id}/isolate`,
    ]);
    assert.deepEqual(JSON.parse(fake.isolations()[0]?.body ?? ""), {
      Comment: "Riposte: ransomware on ws-042",
      IsolationType: "Full",
    });
    assert.ok(fake.apiCalls().every((r) => /^Bearer eyJ\.riposte-test-token-\d+$/.test(r.headers.authorization ?? "")));
    assert.equal(a?.response?.["machine_id"], WS.id);
    assert.equal(a?.response?.["status"], "Pending");
    assert.equal(fake.machineActions.length, 1);
  });

  test("an internal IP is looked up with findbyip at the given time; Selective isolation", async () => {
    const at = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const [a] = await run("isolate_machine", WS.lastIpAddress, {
      params: { host: "{{target.value}}", at, isolation_type: "Selective" },
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(fake.apiCalls().map(show), [
      `GET /api/machines/findbyip(ip='${WS.lastIpAddress}',timestamp=${at})`,
      `POST /api/machines/${WS.id}/isolate`,
    ]);
    assert.equal(JSON.parse(fake.isolations()[0]?.body ?? "")["IsolationType"], "Selective");
  });

  test("the token is cached across actions; an expired one is refreshed once and the call goes through", async () => {
    const state = new MemoryState();
    await run("get_machine", WS.computerDnsName, { state });
    await run("get_machine", DC.computerDnsName, { state });
    // One executor per runDecisions call: each builds its own client, so each asks once.
    assert.equal(fake.entra.tokenRequests.length, 2);
    fake.requests.length = 0;
    fake.entra.tokenRequests.length = 0;
    const [first] = await runDecisions({
      playbook: playbookOf("defender-test", [
        { id: "a", connector: "defender", action: "get_machine", params: { host: WS.computerDnsName } },
        { id: "b", connector: "defender", action: "get_machine", params: { host: DC.computerDnsName } },
      ]),
      decisions: [decisionFor("defender-test", { type: "host", value: WS.computerDnsName })],
      connectorConfig: config(),
    });
    assert.equal(first?.status, "succeeded", JSON.stringify(first));
    assert.equal(fake.entra.tokenRequests.length, 1, "two steps, one token");
  });

  test("401 on an expired token: one new token, the same request again, success", async () => {
    fake.faults.push({ status: 200, body: { token_type: "Bearer", expires_in: 3599, access_token: "eyJ.stale" } });
    const [a] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(fake.requests.map(show), [
      `POST /${ENTRA_TENANT}/oauth2/v2.0/token`,
      "GET /api/machines?$filter=computerDnsName eq 'ws-042.contoso.com'",
      `POST /${ENTRA_TENANT}/oauth2/v2.0/token`,
      "GET /api/machines?$filter=computerDnsName eq 'ws-042.contoso.com'",
      `POST /api/machines/${WS.id}/isolate`,
    ]);
    assert.equal(fake.requests[1]?.headers.authorization, "Bearer eyJ.stale");
    assert.equal(fake.isolations().length, 1);
  });

  test("401 again with a fresh token: fails as an auth error after one refresh, nothing isolated", async () => {
    fake.entra.refuseAll = true;
    const [a] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(a?.status, "failed");
    assert.equal(a?.attempts, 1, "auth errors are not retried");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /HTTP 401 Unauthorized/);
    assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_DEFENDER_TENANT_ID, _CLIENT_ID and _CLIENT_SECRET/);
    assert.equal(fake.entra.tokenRequests.length, 2, "one refresh");
    assert.equal(fake.apiCalls().length, 2);
    assert.equal(fake.isolations().length, 0);
  });

  test("a wrong client secret: Entra's AADSTS error, the variables to check, and no secret in the message", async () => {
    const [a] = await run("isolate_machine", WS.computerDnsName, {
      creds: { client_secret: "wrong-secret-0123456789" },
    });
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /HTTP 401 invalid_client AADSTS7000215: Invalid client secret provided\./);
    assert.doesNotMatch(a?.error?.message ?? "", /Trace ID|wrong-secret/);
    assert.equal(fake.apiCalls().length, 0);
  });

  test("403 on isolate names the permission; sent once", async () => {
    fake.forbidden.add(WS.id);
    const [a] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(a?.error?.message ?? "", /Machine\.Isolate/);
    assert.equal(fake.isolations().length, 1);
  });

  test("an unknown machine (empty list, or 404 by id) is not found and nothing is isolated", async () => {
    const [a] = await run("isolate_machine", "nobody.contoso.com");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.equal(a?.attempts, 1);
    const [b] = await run("isolate_machine", "x", { params: { machine_id: "0".repeat(40) } });
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    assert.match(b?.error?.message ?? "", /ResourceNotFound/);
    assert.equal(fake.isolations().length, 0);
  });

  test("two machines behind one IP: refused, naming both", async () => {
    const [a] = await run("isolate_machine", "10.9.9.9");
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(a?.error?.message ?? "", /lab-a\.contoso\.com, lab-b\.contoso\.com/);
    assert.equal(fake.isolations().length, 0);
  });

  test("already isolated (400 ActiveRequestAlreadyExists): done once the machine's actions show it, across pages", async () => {
    fake.pageSize = 1;
    const [first] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(first?.status, "succeeded", JSON.stringify(first));
    const [off] = await run("unisolate_machine", WS.computerDnsName);
    assert.equal(off?.status, "succeeded", JSON.stringify(off));
    const [on] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(on?.status, "succeeded", JSON.stringify(on));
    fake.requests.length = 0;
    const [again] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(again?.status, "succeeded", JSON.stringify(again));
    assert.equal(again?.response?.["already"], true);
    assert.equal(fake.isolations().length, 1, "one isolate request, refused as a repeat");
    assert.equal(fake.requests.filter((r) => r.path === "/api/machineactions").length, 3, "three pages followed");
    assert.equal(fake.machineActions.length, 3);
  });

  test("429 with Retry-After is waited out and retried; the vendor acted once", async () => {
    fake.routeFaults.add({
      path: /\/isolate$/,
      reply: { ...defenderError(429, "TooManyRequests", "Rate limit exceeded"), headers: { "retry-after": "1" } },
    });
    const [a] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 3, "lookup, 429, isolate");
    assert.equal(fake.isolations().length, 2);
    assert.equal(fake.machineActions.length, 1);
  });

  test("a 500, then a timeout after Defender acted: the retry's repeat (400) is found done, one isolation", async () => {
    fake.routeFaults.add({ path: /\/isolate$/, reply: defenderError(500, "InternalServerError", "Internal error") });
    fake.routeFaults.add({ path: /\/isolate$/, actedThenDelayMs: 1_500 });
    const [a] = await run("isolate_machine", WS.computerDnsName, {
      over: { timeout: "300ms", retry: { max: 3, backoff: "10ms" } },
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.response?.["already"], true);
    assert.equal(fake.isolations().length, 3, "500, timed out, repeat");
    assert.equal(fake.machineActions.length, 1, "one isolation at Defender");
  });

  test("a malformed lookup answer is retried, not taken for a machine", async () => {
    fake.routeFaults.add({ path: /^\/api\/machines$/, reply: malformed });
    const [a] = await run("isolate_machine", WS.computerDnsName);
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.isolations().length, 1);
  });

  test("guards check what Defender found: a protected IP behind a host name is refused", async () => {
    const [a] = await run("isolate_machine", DC.computerDnsName, { protect: [DC.lastIpAddress] });
    assert.equal(a?.status, "refused_protected", JSON.stringify(a));
    assert.equal(fake.isolations().length, 0);
  });

  test("unisolate_machine releases (a lift, never refused as protected) with its Comment", async () => {
    await run("isolate_machine", DC.computerDnsName);
    const [a] = await run("unisolate_machine", DC.computerDnsName, { protect: [DC.lastIpAddress] });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(JSON.parse(fake.isolations()[1]?.body ?? ""), { Comment: "Released by Riposte" });
    assert.equal(fake.machineActions.at(-1)?.type, "Unisolate");
  });

  test("get_machine is enrichment: names, IPs, health, OS, risk, exposure, tags", async () => {
    const [a] = await run("get_machine", WS.computerDnsName);
    assert.equal(a?.classification, "enrich");
    assert.deepEqual(a?.response, {
      machine_id: WS.id,
      computer_dns_name: WS.computerDnsName,
      last_ip_address: WS.lastIpAddress,
      health_status: "Active",
      os_platform: "Windows11",
      ips: [WS.lastIpAddress],
      risk_score: "Medium",
      exposure_level: "Low",
      machine_tags: [],
    });
    assert.equal(fake.isolations().length, 0);
  });

  test("a hostile host name never reaches the filter; a quote is doubled in the OData literal", async () => {
    const [a] = await run("isolate_machine", "ws' or computerDnsName ne '");
    assert.equal(a?.status, "failed");
    assert.equal(fake.requests.length, 0, "refused by the input schema");
    const { DEFENDER_REQUESTS } = await import("./index.ts");
    assert.equal(DEFENDER_REQUESTS.byName("a'b").path, "/api/machines?$filter=computerDnsName%20eq%20%27a%27%27b%27");
  });

  test("dry run: the audit record names the exact requests, and nothing is sent", async () => {
    const [a] = await runDecisions({
      playbook: step("isolate_machine", { host: "{{target.value}}", comment: "contain" }),
      decisions: [decisionFor("defender-test", { type: "host", value: WS.computerDnsName })],
      connectorConfig: { defender: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      { method: "GET", path: "/api/machines?$filter=computerDnsName%20eq%20%27ws-042.contoso.com%27" },
      {
        method: "POST",
        path: "/api/machines/{machine_id}/isolate",
        body: { Comment: "contain", IsolationType: "Full" },
      },
    ]);
    assert.match(String(a?.response?.["reason"]), /RIPOSTE_CONNECTOR_DEFENDER_URL/);
    const [ip] = await runDecisions({
      playbook: step("unisolate_machine"),
      decisions: [decisionFor("defender-test", { type: "host", value: "10.1.2.42" })],
      connectorConfig: { defender: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.deepEqual(ip?.response?.["would_send"], [
      { method: "GET", path: "/api/machines/findbyip(ip='10.1.2.42',timestamp={now})" },
      { method: "POST", path: "/api/machines/{machine_id}/unisolate", body: { Comment: "Released by Riposte" } },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
