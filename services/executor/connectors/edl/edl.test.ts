/** The served external dynamic lists: canonical entries, block/unblock through the executor, GET /v1/edl/{name}. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { buildApi } from "../../../api/app.ts";
import { silentLogger } from "../../../shared/log.ts";
import { Metrics } from "../../../shared/metrics.ts";
import { loadPlaybooks } from "../../../shared/rulefiles.ts";
import { MemoryState } from "../../../shared/state/index.ts";
import { SLACK_CHANNEL, SLACK_TOKEN, startSlackFake, type SlackFake } from "../../../../test/fakes/slack.ts";
import { ABUSEIPDB_KEY, startAbuseIpdbFake, type AbuseIpdbFake } from "../../../../test/fakes/abuseipdb.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { addEntry, canonicalEntry, edlText, listEntries, removeEntry } from "./list.ts";

const RULES = fileURLToPath(new URL("../../../../rules", import.meta.url));
const API_TOKEN = "edl-api-token-0123456789abcdef";
const LIST_TOKEN = "edl-list-token-0123456789abcdef";
const PREFIX = "edl-test";

test("entries are canonical: IPv4-mapped IPv6 is IPv4, IPv6 is RFC 5952, host bits of a block are cleared", () => {
  const cases: Array<[string, string | undefined]> = [
    ["203.0.113.7", "203.0.113.7"],
    [" 203.0.113.7 ", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::FFFF:cb00:7107", "203.0.113.7"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["203.0.113.7/32", "203.0.113.7"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["2001:db8:abcd::1/48", "2001:db8:abcd::/48"],
    ["2001:db8::1/128", "2001:db8::1"],
    ["010.0.0.1", undefined],
    ["0x7f.1", undefined],
    ["1.2.3", undefined],
    ["10.0.0.0/33", undefined],
    ["::ffff:10.0.0.0/90", undefined],
    ["host.example", undefined],
    ["", undefined],
  ];
  for (const [raw, want] of cases) assert.equal(canonicalEntry(raw), want, raw);
});

test("a list shows each entry's latest event: expired and unblocked entries are left out", async () => {
  const state = new MemoryState();
  const t = Date.now();
  await addEntry(state, PREFIX, "l1", "203.0.113.7", t + 60_000, t);
  await addEntry(state, PREFIX, "l1", "198.51.100.0/24", t + 1_000, t);
  await addEntry(state, PREFIX, "l1", "192.0.2.1", t + 60_000, t);
  await removeEntry(state, PREFIX, "l1", "192.0.2.1", t + 1);
  await addEntry(state, PREFIX, "l2", "192.0.2.99", t + 60_000, t);
  assert.equal(edlText(await listEntries(state, PREFIX, "l1", t + 2)), "198.51.100.0/24\n203.0.113.7\n");
  assert.equal(edlText(await listEntries(state, PREFIX, "l1", t + 1_001)), "203.0.113.7\n", "the /24 expired");
  await addEntry(state, PREFIX, "l1", "192.0.2.1", t + 60_000, t + 5);
  assert.match(edlText(await listEntries(state, PREFIX, "l1", t + 6)), /^192\.0\.2\.1$/m, "blocked again");
  assert.equal(edlText(await listEntries(state, PREFIX, "nothing", t)), "");
});

describe("edl connector and route", () => {
  let slack: SlackFake;
  const state = new MemoryState();
  const api = buildApi({
    log: silentLogger,
    metrics: new Metrics(),
    apiToken: API_TOKEN,
    sourceTokens: {},
    maxBodyBytes: 1024,
    hmacSecrets: {},
    replayWindowMs: 300_000,
    edl: {
      tokens: { block: LIST_TOKEN },
      text: async (name) => edlText(await listEntries(state, PREFIX, name, Date.now())),
    },
  });
  let abuse: AbuseIpdbFake;
  before(async () => {
    slack = await startSlackFake();
    abuse = await startAbuseIpdbFake();
    abuse.reports.set("203.0.113.50", {
      abuseConfidenceScore: 100,
      totalReports: 42,
      countryCode: "NL",
      isWhitelisted: false,
    });
  });
  after(async () => {
    await api.close();
    await slack.close();
    await abuse.close();
  });
  const get = (url: string, authorization?: string) =>
    api.inject({ method: "GET", url, headers: authorization ? { authorization } : {} });
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  test("the shipped block-ip playbook, AbuseIPDB confidence 100: the address (canonical) on the EDL for 24h, then Slack", async () => {
    const playbook = (await loadPlaybooks(RULES)).get("block-ip");
    assert.ok(playbook);
    const before = Date.now();
    const audits = await runDecisions({
      playbook,
      decisions: [decisionFor("block-ip", { type: "ip", value: "::ffff:203.0.113.50" })],
      connectorConfig: {
        slack: live(slack.api, { bot_token: SLACK_TOKEN, channel: SLACK_CHANNEL }),
        abuseipdb: live(abuse.url, { api_key: ABUSEIPDB_KEY }),
      },
      state,
      prefix: PREFIX,
    });
    const live_ = audits
      .filter((a) => a.status !== "dry_run")
      .map((a) => `${String(a.connector)}.${String(a.action)} ${a.status}`);
    assert.deepEqual(live_, ["abuseipdb.check_ip succeeded", "edl.block_ip succeeded", "slack.post_message succeeded"]);
    const block = audits.find((a) => a.connector === "edl");
    assert.equal(block?.classification, "containment");
    assert.equal(block?.response?.["entry"], "203.0.113.50");
    const expires = Date.parse(String(block?.response?.["expires"]));
    assert.ok(Math.abs(expires - (before + 86_400_000)) < 10_000, "expires in 24h");
    const listed = await listEntries(state, PREFIX, "block", Date.now());
    assert.deepEqual(
      listed.map((e) => e.entry),
      ["203.0.113.50"],
    );
    assert.equal(slack.messages.length, 1);
    assert.match(
      slack.messages[0]?.text ?? "",
      /IP ::ffff:203\.0\.113\.50: block requested \(PAN-OS tag, EDL block, 24h\)/,
    );
  });

  test("GET /v1/edl/{name}: text/plain, one entry a line, with the API token or the list's token (bearer or basic)", async () => {
    for (const auth of [
      `Bearer ${API_TOKEN}`,
      `Bearer ${LIST_TOKEN}`,
      basic("paloalto", LIST_TOKEN),
      basic("", API_TOKEN),
    ]) {
      const res = await get("/v1/edl/block", auth);
      assert.equal(res.statusCode, 200, auth);
      assert.match(String(res.headers["content-type"]), /^text\/plain/);
      assert.equal(res.headers["cache-control"], "no-store");
      assert.equal(res.body, "203.0.113.50\n");
    }
  });

  test("GET /v1/edl/{name} refuses missing and wrong tokens, another list's token, and bad names", async () => {
    const none = await get("/v1/edl/block");
    assert.equal(none.statusCode, 401);
    assert.match(String(none.headers["www-authenticate"]), /^Basic/);
    assert.equal((await get("/v1/edl/block", `Bearer wrong-token-0123456789`)).statusCode, 401);
    assert.equal((await get("/v1/edl/block", basic("fw", "wrong-token-0123456789"))).statusCode, 401);
    assert.equal(
      (await get("/v1/edl/other", `Bearer ${LIST_TOKEN}`)).statusCode,
      401,
      "a list token reads its list only",
    );
    assert.equal((await get("/v1/stats", `Bearer ${LIST_TOKEN}`)).statusCode, 401, "and nothing else");
    assert.equal((await get("/v1/stats", basic("x", API_TOKEN))).statusCode, 401, "basic auth is for lists only");
    assert.equal((await get("/v1/edl/Bad.Name", `Bearer ${API_TOKEN}`)).statusCode, 400);
    const empty = await get("/v1/edl/other", `Bearer ${API_TOKEN}`);
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.body, "", "a list nothing was listed on is empty");
  });

  test("unblock_ip takes the entry off; a short TTL expires by itself", async () => {
    const pb = playbookOf("edl-test", [
      {
        id: "b",
        connector: "edl",
        action: "block_ip",
        params: { ip: "{{target.value}}", ttl: "300ms", list: "short" },
      },
    ]);
    await runDecisions({
      playbook: pb,
      decisions: [decisionFor("edl-test", { type: "ip", value: "198.51.100.7" })],
      connectorConfig: {},
      state,
      prefix: PREFIX,
    });
    assert.equal((await get("/v1/edl/short", `Bearer ${API_TOKEN}`)).body, "198.51.100.7\n");
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await get("/v1/edl/short", `Bearer ${API_TOKEN}`)).body, "", "expired");

    const unblock = playbookOf("edl-unblock", [
      { id: "u", connector: "edl", action: "unblock_ip", params: { ip: "{{target.value}}" } },
    ]);
    const [a] = await runDecisions({
      playbook: unblock,
      decisions: [decisionFor("edl-unblock", { type: "ip", value: "203.0.113.50" })],
      connectorConfig: {},
      state,
      prefix: PREFIX,
    });
    assert.equal(a?.status, "succeeded");
    assert.equal((await get("/v1/edl/block", `Bearer ${API_TOKEN}`)).body, "");
  });

  test("a protected address is refused in any spelling; a non-address is a failed step, nothing listed", async () => {
    const pb = playbookOf("edl-test", [
      { id: "b", connector: "edl", action: "block_ip", params: { ip: "{{target.value}}", list: "guarded" } },
    ]);
    const audits = await runDecisions({
      playbook: pb,
      decisions: [
        decisionFor("edl-test", { type: "ip", value: "::ffff:10.0.0.1" }),
        decisionFor("edl-test", { type: "ip", value: "not-an-ip" }),
      ],
      connectorConfig: {},
      state,
      prefix: PREFIX,
      protect: { ips: ["10.0.0.1"] },
    });
    assert.equal(audits[0]?.status, "refused_protected", JSON.stringify(audits[0]));
    assert.equal(audits[1]?.status, "failed");
    assert.match(audits[1]?.error?.message ?? "", /not an IP address or CIDR block/);
    assert.equal((await get("/v1/edl/guarded", `Bearer ${API_TOKEN}`)).body, "");
  });
});
