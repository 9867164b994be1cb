import { test } from "node:test";
import assert from "node:assert/strict";
import { corpusEvents } from "./testing.ts";
import { normalizeEvent } from "./index.ts";

/** Corpus files of formats with activity records (issue 10): through detection and the registry, as ingest runs them. */
const FILES: Record<string, { formats: readonly string[]; unknown?: number }> = {
  "suricata/elastic-integrations__suricata_eve__test-eve-small.log": { formats: ["suricata_eve"] },
  "zeek/elastic-integrations__zeek_notice__test-notice.log": { formats: ["zeek_notice"] },
  // 2 records are Panther enrichment fragments without any Google field: unknown, and dead-lettered as such.
  "google_workspace/panther-analysis__GSuite.ActivityEvent.jsonl": { formats: ["google_workspace_alert"], unknown: 2 },
  "google_workspace/elastic-integrations__google_workspace_alert__test-alert.log": {
    formats: ["google_workspace_alert"],
  },
  "azure_entra_signin/panther-analysis__Azure.Audit.jsonl": { formats: ["entra_signin"] },
  "azure_entra_signin/panther-analysis__Microsoft365.Audit.AzureActiveDirectory.jsonl": {
    formats: ["m365_azure_ad_audit"],
  },
  "email_phishing/panther-analysis__Microsoft365.Audit.Exchange.jsonl": { formats: ["m365_azure_ad_audit"] },
  "proofpoint_tap/panther-analysis__Proofpoint.Event.jsonl": { formats: ["proofpoint_tap"] },
  "proofpoint_tap/elastic-integrations__proofpoint_tap_clicks_blocked__test-clicks-blocked.log": {
    formats: ["proofpoint_tap"],
  },
};

test("activity corpus: every record of these formats normalizes; nothing is refused as unsupported", () => {
  const classes = new Map<number, number>();
  for (const [file, want] of Object.entries(FILES)) {
    let unknown = 0;
    for (const ev of corpusEvents(file)) {
      const out = normalizeEvent({ kind: "json", value: ev }, JSON.stringify(ev), {
        source: "corpus",
        receivedTime: 1,
      });
      if (!out.ok) {
        assert.equal(out.code, "RIPOSTE_FORMAT_UNKNOWN", `${file}: ${out.code} ${out.reason}`);
        assert.match(out.reason, /no normalizer recognises this event/);
        unknown++;
        continue;
      }
      assert.ok(want.formats.includes(out.format), `${file}: taken as ${out.format}`);
      classes.set(out.event.class_uid, (classes.get(out.event.class_uid) ?? 0) + 1);
    }
    assert.equal(unknown, want.unknown ?? 0, `${file}: unknown records`);
  }
  for (const cls of [0, 2004, 3001, 3002, 3004, 3005, 3006, 4001, 4002, 4003, 4007, 4009, 4010, 6003])
    assert.ok((classes.get(cls) ?? 0) > 0, `no corpus event of class ${cls}`);
});
