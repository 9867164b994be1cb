/**
 * The seed scenarios end to end, the services as separate processes on real Kafka and Redis, every connector a
 * playbook uses pointed at its fake. So far: an EDR detection → one isolation at the Falcon fake, one Jira issue and
 * one Slack message, exactly once also when the same alert is sent again. (Phishing, brute force and the multi-sensor
 * IP block are not covered here yet.)
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { JIRA_EMAIL, JIRA_PROJECT, JIRA_TOKEN, startJiraFake, type JiraFake } from "../fakes/jira.ts";
import { SLACK_CHANNEL, SLACK_TOKEN, startSlackFake, type SlackFake } from "../fakes/slack.ts";
import { eventually } from "../support/env.ts";
import { startHarness, type Harness } from "../support/harness.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
let edr: FalconFake;
let jira: JiraFake;
let slack: SlackFake;
let h: Harness | undefined;
after(async () => {
  await h?.stop();
  await Promise.all([edr?.close(), jira?.close(), slack?.close()]);
});

/** A Falcon EppDetectionSummaryEvent (Streaming API event reference), Critical, on host FIN-WS-042, at `at`. */
function falconDetection(at: number): string {
  return JSON.stringify({
    metadata: {
      customerIDString: "5d3c1f0e9a8b4c2d9e7f6a5b4c3d2e1f",
      offset: 880412,
      eventType: "EppDetectionSummaryEvent",
      eventCreationTime: at,
      version: "1.0",
    },
    event: {
      Hostname: "FIN-WS-042",
      UserName: "j.doe",
      Name: "Credential Dumping",
      Description: "A process attempted to read the memory of LSASS.",
      Severity: 90,
      SeverityName: "Critical",
      FileName: "procdump64.exe",
      CommandLine: "procdump64.exe -ma lsass.exe out.dmp",
      LocalIP: "10.40.2.17",
      AgentId: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
      CompositeId: "5d3c1f0e9a8b4c2d9e7f6a5b4c3d2e1f:ind:a1b2c3d4e5f60718293a4b5c6d7e8f90:1001",
      Tactic: "Credential Access",
      Technique: "OS Credential Dumping",
    },
  });
}

test("an EDR detection: one isolation, one ticket, one Slack message, also when the alert is sent again", async () => {
  edr = await startFalconFake({ "FIN-WS-042": DEVICE, "10.40.2.17": DEVICE });
  jira = await startJiraFake();
  slack = await startSlackFake();
  h = await startHarness("distributed", edr.url, {
    RIPOSTE_CONNECTOR_JIRA_URL: jira.url,
    RIPOSTE_CONNECTOR_JIRA_EMAIL: JIRA_EMAIL,
    RIPOSTE_CONNECTOR_JIRA_API_TOKEN: JIRA_TOKEN,
    RIPOSTE_CONNECTOR_JIRA_PROJECT: JIRA_PROJECT,
    RIPOSTE_CONNECTOR_SLACK_URL: slack.api,
    RIPOSTE_CONNECTOR_SLACK_BOT_TOKEN: SLACK_TOKEN,
    RIPOSTE_CONNECTOR_SLACK_CHANNEL: SLACK_CHANNEL,
  });
  const alert = falconDetection(Date.now() - 60_000);
  const first = await h.post("crowdstrike", alert);
  assert.equal(first.status, 202, JSON.stringify(first.body));
  const ended = (step: string) => h?.actions.filter((a) => a["step"] === step && a["status"] === "succeeded").length;
  await eventually(
    () => ended("notify") === 1,
    () => `the run to end: ${JSON.stringify(h?.actions.map((a) => [a["step"], a["status"]]))}`,
    60_000,
  );
  const contains = () => edr.actions().filter((r) => r.query.get("action_name") === "contain");
  assert.equal(contains().length, 1, "one contain at the EDR");
  assert.deepEqual(JSON.parse(contains()[0]?.body ?? "{}"), { ids: [DEVICE] });
  assert.equal(jira.creates().length, 1, "one Jira issue");
  assert.equal(slack.messages.length, 1, "one Slack message");

  // The same alert again: a duplicate decision, nothing more sent.
  const again = await h.post("crowdstrike", alert);
  assert.equal(again.status, 202);
  await eventually(() => (h?.decisions.length ?? 0) >= 2, "the second alert's decision", 60_000);
  assert.equal(contains().length, 1, "still one contain");
  assert.equal(jira.creates().length, 1, "still one issue");
  assert.equal(slack.messages.length, 1, "still one message");
});
