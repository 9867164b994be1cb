/**
 * `npm start`'s demo (riposte run all --demo), embedded with no connector configured: the sample alerts replayed,
 * and the summary's seed scenarios, each step as what it would send. Phishing: a search per recipient, a purge per
 * copy and a notice per recipient (planned from find_message's dry-run sample), the sender block; the multi-sensor
 * IP block (both lookups dry, so the PAN-OS registration and the EDL entry are planned); the session revocation;
 * the host isolation; the suspension waiting for its approval, with what it would send once approved.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { replayDemo, seedScenarios } from "../services/demo/demo.ts";
import { SERVICES, startServices, type Running } from "../services/runtime.ts";
import { loadConfig } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { freePorts } from "./infra/proc.ts";
import { eventually } from "./support/env.ts";

const TOKEN = "demo-test-token-0123456789abcdef";
let running: Running;
let printed = "";

before(async () => {
  const [port] = await freePorts(1);
  const config = loadConfig(
    {
      RIPOSTE_API_PORT: String(port),
      RIPOSTE_API_TOKEN: TOKEN,
      RIPOSTE_STATE_DIR: mkdtempSync(join(tmpdir(), "riposte-demo-")),
      RIPOSTE_LOG_LEVEL: "warn",
    },
    CONNECTORS,
  );
  running = await startServices({ config, services: [...SERVICES], log: silentLogger });
  await replayDemo(running, silentLogger, { write: (t: string) => void (printed += t) });
});
after(async () => {
  await running?.stop();
});

/** The pending approvals, as the demo reads them. */
async function approvals() {
  const res = await running.api?.inject({
    method: "GET",
    url: "/v1/approvals",
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return res?.json<{ approvals: Array<{ id: string }> }>().approvals ?? [];
}

test("the demo's summary shows each seed scenario's steps as what they would send", async () => {
  assert.match(printed, /Riposte demo: sample alerts replayed/);
  assert.match(printed, /Seed scenarios \(dry run: no connector configured/);
  // The summary as it stands once every run has gone as far as it can (the demo prints it once it looks settled).
  const want = [
    "  phishing purge and notify: 1 run of purge-phishing",
    "    block-sender           would send POST /api/policy/blockedsenders/get-policy, POST /api/policy/blockedsenders/create-policy",
    "    find                   would send GET /v1.0/users/alice%40example.com/messages, GET /v1.0/users/bob%40example.com/messages",
    "    purge                  would send POST /v1.0/users/alice%40example.com/messages/{id}/move",
    "    purge                  would send POST /v1.0/users/bob%40example.com/messages/{id}/move",
    "    notify-recipients      would send POST /v1.0/users/<RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER>/sendMail",
    "    notify-recipients      would send POST /v1.0/users/<RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER>/sendMail",
    "    ticket                 would send GET /rest/api/3/search/jql, POST /rest/api/3/issue",
    "    notify                 would send POST /chat.postMessage",
    "  IP block: 2 runs of block-ip (1 waiting for approval; one shown)",
    "    abuseipdb              would send GET /api/v2/check",
    "    virustotal             would send GET /api/v3/ip_addresses/203.0.113.77",
    "    block-panos            would send POST /api/",
    "    block-edl              would send ADD /v1/edl/block",
    "    ticket                 would send GET /rest/api/3/search/jql, POST /rest/api/3/issue",
    "    notify                 would send POST /chat.postMessage",
    "  session revocation: 1 run of revoke-user-sessions",
    "    revoke-entra           would send GET /v1.0/users/j.doe%40example.com, POST /v1.0/users/{id}/revokeSignInSessions",
    "    ticket                 would send GET /rest/api/3/search/jql, POST /rest/api/3/issue",
    "    notify                 would send POST /chat.postMessage",
    "  host isolation: 3 runs of isolate-host (one shown)",
    "    lookup-falcon          would send GET /devices/queries/devices/v1, GET /devices/entities/devices/v2",
    "    contain-falcon         would send GET /devices/queries/devices/v1, GET /devices/entities/devices/v2, POST /devices/entities/devices-actions/v2",
    "    ticket                 would send GET /rest/api/3/search/jql, POST /rest/api/3/issue",
    "    notify                 would send POST /chat.postMessage",
    "  suspension (approval): 1 run of suspend-user",
    "    disable-entra          awaiting approval, then would send GET /v1.0/users/j.doe%40example.com, PATCH /v1.0/users/{id}",
  ];
  let got: string[] = [];
  await eventually(
    async () => {
      got = await seedScenarios(running, await approvals());
      return got.join("\n") === want.join("\n");
    },
    () => `the seed scenarios:\n${got.join("\n")}`,
    30_000,
  );
});
