/** The registry over the whole corpus: auto-detection picks the right format, and nothing crashes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { splitBody } from "../body.ts";
import { normalizeEvent, knownFormats } from "./index.ts";
import { CORPUS, corpusText } from "./testing.ts";

/** Corpus file → the format auto-detection must choose for its records (undefined: not an alert format here). */
const EXPECTED: Record<string, string | undefined> = {
  "suricata/elastic-integrations__suricata_eve__test-eve-small.log": "suricata_eve",
  "zeek/elastic-integrations__zeek_notice__test-notice.log": "zeek_notice",
  "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-detection-summary.log": "crowdstrike_falcon",
  "crowdstrike/elastic-integrations__crowdstrike_falcon__test-falcon-epp-detection-summary.excerpt.log":
    "crowdstrike_falcon",
  "microsoft_defender/elastic-integrations__m365_defender_alert__test-alert.log": "microsoft_graph_alert",
  "microsoft_sentinel/elastic-integrations__microsoft_sentinel_alert__test-alert.log": "microsoft_sentinel_alert",
  "elastic_security_alerts/elastic-integrations__elastic_security_alert__test-alert.log": "elastic_security_alert",
  "splunk_notable/elastic-integrations__splunk_alert__test-alert.log": "splunk_notable",
  "aws_securityhub_asff/elastic-integrations__aws_securityhub_findings__test-securityhub-findings.excerpt.log":
    "aws_securityhub",
  "google_workspace/elastic-integrations__google_workspace_alert__test-alert.log": "google_workspace_alert",
  "proofpoint_tap/elastic-integrations__proofpoint_tap_clicks_blocked__test-clicks-blocked.log": "proofpoint_tap",
  "cef_leef_syslog/elastic-integrations__cef_log__test-cef.log": "cef",
  "cef_leef_syslog/azure-sentinel__PaloAlto_CortexDataLake_ASimNetworkSession_RawLogs.txt": "cef",
  "cef_leef_syslog/tenzir__leef2.log": "leef",
};

/** Panther log type → the format its records must be detected as. */
const PANTHER: Record<string, string> = {
  "Okta.SystemLog": "okta_system_log",
  "AWS.GuardDuty": "aws_guardduty",
  "Proofpoint.Event": "proofpoint_tap",
  "Azure.Audit": "entra_signin",
  "Microsoft365.Audit.AzureActiveDirectory": "m365_azure_ad_audit",
  "Microsoft365.Audit.Exchange": "m365_azure_ad_audit",
  "Crowdstrike.EventStreams": "crowdstrike_falcon",
  "GSuite.ActivityEvent": "google_workspace_alert",
  "OCSF.DnsActivity": "ocsf",
};

/** Panther log types of the corpus that no Riposte format covers, with why: every record must stay unknown. */
const PANTHER_NO_FORMAT: Record<string, string> = {
  "Sublime.MessageEvent": "Sublime Security message events: no normalizer for them",
  "MicrosoftDefenderXDR.AdvancedHunting": "Defender XDR advanced-hunting rows, not Graph alerts",
  "OCSF.NetworkActivity": "partial OCSF Network Activity (a few members each, no class_uid): not OCSF events",
  "Windows.EventLogs": "Windows event log records: no normalizer for them",
};

/** Records of covered log types that are expected to stay unknown (file, Panther test name), with why. */
const PANTHER_UNKNOWN: Record<string, Record<string, string>> = {
  "panther-analysis__Okta.SystemLog.jsonl": {
    "Benign IP - No Alert": "only Panther's p_* enrichment fields, no Okta event",
    "Threat IP - No Adversary": "only Panther's p_* enrichment fields, no Okta event",
  },
  "panther-analysis__GSuite.ActivityEvent.jsonl": {
    "Known Business Service - No Alert": "only Panther's p_* enrichment fields, no Workspace event",
    "Malicious Email Detected": "only Panther's p_* enrichment fields, no Workspace event",
  },
};

test("auto-detection picks each corpus file's format, and every event ends normalized or with a reason", () => {
  for (const [file, format] of Object.entries(EXPECTED)) {
    const pieces = splitBody(corpusText(file));
    assert.ok(pieces.length > 0, file);
    for (const p of pieces) {
      if (!p.ok) continue;
      const out = normalizeEvent(p.event, p.text, { source: "auto", receivedTime: 1_700_000_000_000 });
      if (out.ok) assert.equal(out.format, format, `${file}: detected ${out.format}`);
      else {
        assert.notEqual(out.code, "RIPOSTE_FORMAT_UNKNOWN", `${file}: ${out.reason}`);
        assert.equal(out.format, format, `${file}: ${out.reason}`);
      }
    }
    const normalized = pieces.filter(
      (p) => p.ok && normalizeEvent(p.event, p.text, { source: "auto", receivedTime: 1 }).ok,
    );
    // tenzir's LEEF file holds PAN-OS format templates ($placeholders), not events: refused with a reason.
    if (file.startsWith("cef_leef_syslog/tenzir")) assert.equal(normalized.length, 0, file);
    else assert.ok(normalized.length > 0, `${file}: at least one event normalizes`);
  }
});

test("Panther-wrapped vendor events are detected as their vendor's format once unwrapped", () => {
  const files = readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(CORPUS, d.name))
        .filter((f) => f.startsWith("panther-analysis__") && f.endsWith(".jsonl"))
        .map((f) => ({ dir: d.name, file: f, type: f.replace(/^panther-analysis__/, "").replace(/\.jsonl$/, "") })),
    );
  assert.ok(files.length >= Object.keys(PANTHER).length + Object.keys(PANTHER_NO_FORMAT).length);
  const detected: Record<string, number> = {};
  const unknownSeen = new Set<string>();
  for (const { dir, file, type } of files) {
    const format = PANTHER[type];
    assert.ok(
      format !== undefined || type in PANTHER_NO_FORMAT,
      `${file}: a Panther log type this test does not know; add it to PANTHER or PANTHER_NO_FORMAT`,
    );
    const lines = corpusText(join(dir, file)).split("\n").filter(Boolean);
    assert.ok(lines.length > 0, file);
    for (const line of lines) {
      const rec = JSON.parse(line) as { test_name: string; log: Record<string, unknown> };
      const out = normalizeEvent({ kind: "json", value: rec.log }, JSON.stringify(rec.log), {
        source: "auto",
        receivedTime: 1,
      });
      const what = `${file}, "${rec.test_name}"`;
      const unknown = !out.ok && out.code === "RIPOSTE_FORMAT_UNKNOWN";
      const why = format === undefined ? PANTHER_NO_FORMAT[type] : PANTHER_UNKNOWN[file]?.[rec.test_name];
      if (why !== undefined) {
        assert.ok(unknown, `${what} is listed as expected-unknown (${why}) but was taken as ${out.format}`);
        unknownSeen.add(`${file}\u0000${rec.test_name}`);
        continue;
      }
      assert.ok(!unknown, `${what}: not detected as ${format}: ${out.ok ? "" : out.reason}`);
      assert.equal(out.format, format, what);
      detected[type] = (detected[type] ?? 0) + 1;
    }
  }
  for (const [file, names] of Object.entries(PANTHER_UNKNOWN)) {
    for (const name of Object.keys(names)) assert.ok(unknownSeen.has(`${file}\u0000${name}`), `${file}: no "${name}"`);
  }
  for (const type of Object.keys(PANTHER)) assert.ok((detected[type] ?? 0) > 0, `${type}: nothing detected`);
});

test("CEF lines without a time of their own take the received time", () => {
  const line = "CEF:0|Vendor|Product|1.0|100|Port scan|7|src=10.0.0.5 dst=192.0.2.10";
  const out = normalizeEvent({ kind: "text", value: line }, line, { source: "fw", receivedTime: 1_700_000_000_000 });
  assert.ok(out.ok, JSON.stringify(out));
  assert.equal(out.event.time, 1_700_000_000_000);
});

test("an event no normalizer knows is refused with the known formats listed", () => {
  const out = normalizeEvent({ kind: "json", value: { hello: "world" } }, "{}", { source: "custom", receivedTime: 1 });
  assert.equal(out.ok, false);
  assert.ok(!out.ok && out.code === "RIPOSTE_FORMAT_UNKNOWN" && out.reason.includes("suricata_eve"));
  assert.equal(knownFormats().length, 18);
});

test("a source named after a format forces that format", () => {
  const out = normalizeEvent({ kind: "json", value: { hello: "world" } }, "{}", {
    source: "suricata",
    receivedTime: 1,
  });
  assert.ok(!out.ok && out.format === "suricata_eve");
});
