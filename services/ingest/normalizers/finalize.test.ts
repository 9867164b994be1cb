/**
 * finalize: the received-time fallback (through the registry, for every normalizer that reads its time with
 * `eventTime`) and the entity key's order (host, user / cloud principal, IP, cloud resource, source).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeEvent } from "./index.ts";
import { entityKeyOf, eventTime, finalize, NO_TIME, TIME_FALLBACK_LABEL } from "./finalize.ts";
import { corpusEvents, json, pantherRecords, text } from "./testing.ts";
import type { Draft, Normalizer } from "./types.ts";
import { isRejection } from "./types.ts";
import { oktaSystemLog } from "./okta-system-log.ts";
import { entraSignin } from "./entra-signin.ts";
import { suricata } from "./suricata.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { ALERT_EPP, ENVELOPE_EPP, ENVELOPE_SIGNIN, FLAT_EPP } from "./fixtures/crowdstrike.ts";
import { PARTIAL_IDENTITY } from "./fixtures/graph.ts";
import { ASFF_S3, GD_IAM_USER_KEY } from "./fixtures/aws.ts";

const RECEIVED = 1_800_000_000_000;

/** Runs one event through detection, normalization and finalize, as ingest does; fails with the DLQ reason. */
function ingest(value: object): NormalizedEvent {
  const v = value as Record<string, unknown>;
  const out = normalizeEvent(json(v), JSON.stringify(v), { source: "test", receivedTime: RECEIVED });
  if (!out.ok) throw new Error(`${out.code}: ${out.reason}`);
  return out.event;
}

function assertFallback(e: NormalizedEvent, format: string, original?: string) {
  assert.equal(e.riposte.format, format);
  assert.equal(e.time, RECEIVED);
  assert.equal(e.riposte.time_fallback, true);
  assert.equal(e.metadata.processed_time, RECEIVED);
  assert.ok(e.metadata.labels?.includes(TIME_FALLBACK_LABEL), JSON.stringify(e.metadata));
  if (original !== undefined) assert.equal(e.metadata.original_time, original, "the vendor's value is kept");
}

const without = (o: object, ...keys: string[]) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as Record<string, unknown>;

/** For each of these normalizers: the event with its time fields absent, redacted, and unparseable. */
const CASES: ReadonlyArray<{
  format: string;
  /** The event with its time fields set to `t` (undefined: removed). */
  build: (t: string | undefined) => object;
}> = [
  {
    format: "crowdstrike_falcon",
    build: (t) => ({
      metadata:
        t === undefined
          ? without(ENVELOPE_EPP.metadata, "eventCreationTime")
          : { ...ENVELOPE_EPP.metadata, eventCreationTime: t },
      event: without(ENVELOPE_EPP.event, "ProcessStartTime"),
    }),
  },
  {
    format: "crowdstrike_falcon",
    build: (t) => ({
      ...without(FLAT_EPP, "timestamp", "UTCTimestamp", "ProcessStartTime"),
      ...(t === undefined ? {} : { timestamp: t }),
    }),
  },
  {
    format: "crowdstrike_falcon",
    build: (t) => ({
      ...without(ALERT_EPP, "timestamp", "created_timestamp", "context_timestamp", "updated_timestamp"),
      ...(t === undefined ? { created_timestamp: undefined } : { timestamp: t, created_timestamp: t }),
    }),
  },
  {
    format: "crowdstrike_falcon",
    build: (t) => ({
      metadata: without(ENVELOPE_SIGNIN.metadata, "eventCreationTime"),
      event: { ...without(ENVELOPE_SIGNIN.event, "UTCTimestamp"), ...(t === undefined ? {} : { UTCTimestamp: t }) },
    }),
  },
  {
    format: "microsoft_graph_alert",
    build: (t) => ({
      "@odata.type": "#microsoft.graph.security.alert",
      ...without(PARTIAL_IDENTITY, "createdDateTime"),
      ...(t === undefined ? {} : { createdDateTime: t }),
    }),
  },
  {
    format: "microsoft_graph_alert",
    build: (t) => ({
      ...without(PARTIAL_IDENTITY, "createdDateTime"),
      ...(t === undefined ? {} : { createdDateTime: t }),
    }),
  },
  {
    format: "aws_guardduty",
    build: (t) => ({
      ...without(GD_IAM_USER_KEY, "updatedAt", "createdAt"),
      ...(t === undefined ? {} : { updatedAt: t, createdAt: t }),
    }),
  },
  {
    format: "aws_securityhub",
    build: (t) => ({
      ...without(ASFF_S3, "UpdatedAt", "CreatedAt"),
      ...(t === undefined ? {} : { UpdatedAt: t, CreatedAt: t }),
    }),
  },
];

test("a missing, redacted or unparseable time never dead-letters: the received time, marked in metadata and riposte", () => {
  for (const { format, build } of CASES) {
    for (const t of [undefined, "redacted", "2026-13-45T99:99:99Z", "****", ""]) {
      let e: NormalizedEvent;
      try {
        e = ingest(build(t));
      } catch (err) {
        throw new Error(`${format} with time ${JSON.stringify(t)}`, { cause: err });
      }
      assertFallback(e, format, t === "" ? undefined : t);
    }
  }
});

test("an event with its own time is not marked", () => {
  for (const ev of [ENVELOPE_EPP, FLAT_EPP, ALERT_EPP, ENVELOPE_SIGNIN, PARTIAL_IDENTITY, GD_IAM_USER_KEY, ASFF_S3]) {
    const e = ingest(ev);
    assert.notEqual(e.time, RECEIVED);
    assert.equal(e.riposte.time_fallback, undefined);
    assert.equal(e.metadata.labels?.includes(TIME_FALLBACK_LABEL) ?? false, false);
  }
});

test("eventTime: the first candidate that is a time after the epoch, else NO_TIME", () => {
  assert.equal(eventTime("redacted", "2026-01-01T00:00:00Z"), Date.parse("2026-01-01T00:00:00Z"));
  assert.equal(eventTime(1767225600), 1767225600000, "epoch seconds");
  assert.equal(eventTime(1767225600000), 1767225600000, "epoch milliseconds");
  assert.ok(Number.isNaN(eventTime(undefined, null, "", "n/a", 0, "1970-01-01 00:00:00Z", 133221234560000000)));
  assert.ok(Number.isNaN(NO_TIME));
});

/** A corpus event of another normalizer, its draft finalized with an unreadable time. */
function finalizedWithoutTime(n: Normalizer, event: Record<string, unknown>) {
  const draft = n.normalize(json(event));
  if (isRejection(draft)) throw new Error(draft.reason);
  const untimed = {
    ...draft,
    time: NO_TIME,
    ...(draft.class_uid === 2004 ? { finding_info: { ...draft.finding_info, created_time: NO_TIME } } : {}),
  } as Draft;
  const out = finalize(untimed, json(event), JSON.stringify(event), {
    source: "test",
    format: n.format,
    receivedTime: RECEIVED,
  });
  if (!out.ok) throw new Error(out.reason);
  return out.event;
}

const oktaEvent = () =>
  pantherRecords("okta/panther-analysis__Okta.SystemLog.jsonl")
    .map((r) => r.log)
    .find((e) => !isRejection(oktaSystemLog.normalize(json(e))))!;
const entraEvent = () =>
  corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl").find(
    (e) => entraSignin.detect(json(e)) && !isRejection(entraSignin.normalize(json(e))),
  )!;
const suricataAlert = () =>
  corpusEvents("suricata/elastic-integrations__suricata_eve__test-eve-small.log").find(
    (e) => e["event_type"] === "alert",
  )!;

test("finalize falls back the same way for Okta, Entra and Suricata drafts that carry NO_TIME", () => {
  for (const [n, ev] of [
    [oktaSystemLog, oktaEvent()],
    [entraSignin, entraEvent()],
    [suricata, suricataAlert()],
  ] as const) {
    const e = finalizedWithoutTime(n, ev);
    assertFallback(e, n.format);
    if (e.class_uid === 2004)
      assert.equal(e.finding_info.created_time, undefined, "an unreadable created_time is dropped");
  }
});

test("Okta: an event with a redacted `published` normalizes with the received time", () => {
  assertFallback(ingest({ ...oktaEvent(), published: "redacted" }), "okta_system_log", "redacted");
});
test("Entra: a sign-in without createdDateTime/time normalizes with the received time", () => {
  const ev = entraEvent();
  const props = ev["properties"] as Record<string, unknown> | undefined;
  const stripped = without(
    { ...ev, ...(props ? { properties: without(props, "createdDateTime", "activityDateTime") } : {}) },
    "time",
    "createdDateTime",
    "TimeGenerated",
  );
  assertFallback(ingest(stripped), "entra_signin");
});
test("Suricata: an alert with an unparseable timestamp normalizes with the received time", () => {
  assertFallback(ingest({ ...suricataAlert(), timestamp: "not a time" }), "suricata_eve");
});

/** Runs one event through the named format (time fields removed can defeat detection), as ingest with ?format= does. */
function ingestAs(format: string, value: object | string): NormalizedEvent {
  const raw = typeof value === "string" ? text(value) : json(value as Record<string, unknown>);
  const rawText = typeof value === "string" ? value : JSON.stringify(value);
  const out = normalizeEvent(raw, rawText, { source: "test", format, receivedTime: RECEIVED });
  if (!out.ok) throw new Error(`${out.code}: ${out.reason}`);
  return out.event;
}

/** `o` with the dotted paths set to `t` (removed when undefined). */
function withTime(o: object, paths: readonly string[], t: string | undefined): Record<string, unknown> {
  const copy = structuredClone(o) as Record<string, unknown>;
  for (const path of paths) {
    if (path in copy) {
      if (t === undefined) delete copy[path];
      else copy[path] = t;
      continue;
    }
    const parts = path.split(".");
    let cur: Record<string, unknown> = copy;
    for (const p of parts.slice(0, -1)) {
      const next = cur[p];
      if (next === null || typeof next !== "object") break;
      cur = next as Record<string, unknown>;
    }
    const last = parts[parts.length - 1] as string;
    if (t === undefined) delete cur[last];
    else if (last in cur) cur[last] = t;
  }
  return copy;
}

const firstOf = (file: string, keep: (e: Record<string, unknown>) => boolean = () => true) => {
  const found = corpusEvents(file).find(keep);
  if (!found) throw new Error(`no sample in ${file}`);
  return found;
};

/** One corpus sample per normalizer whose time reading changed in issue 10, and where its times are. */
const SAMPLES: ReadonlyArray<{ format: string; event: () => object; paths: readonly string[] }> = [
  {
    format: "zeek_notice",
    event: () => firstOf("zeek/elastic-integrations__zeek_notice__test-notice.log"),
    paths: ["ts"],
  },
  {
    format: "wazuh",
    event: () => firstOf("wazuh/wazuh5-sample-findings-fim_findings.ndjson"),
    paths: ["@timestamp"],
  },
  {
    format: "elastic_security_alert",
    event: () => firstOf("elastic_security_alerts/elastic-integrations__elastic_security_alert__test-alert.log"),
    paths: ["kibana.alert.original_time", "@timestamp", "kibana.alert.start"],
  },
  {
    format: "microsoft_sentinel_alert",
    event: () => firstOf("microsoft_sentinel/elastic-integrations__microsoft_sentinel_alert__test-alert.log"),
    paths: ["properties.timeGenerated", "properties.startTimeUtc"],
  },
  {
    format: "splunk_notable",
    event: () => without(firstOf("splunk_notable/elastic-integrations__splunk_alert__test-alert.log"), "_raw"),
    paths: ["_time"],
  },
  {
    format: "google_workspace_alert",
    event: () => firstOf("google_workspace/elastic-integrations__google_workspace_alert__test-alert.log"),
    paths: ["createTime"],
  },
  {
    format: "proofpoint_tap",
    event: () => firstOf("proofpoint_tap/panther-analysis__Proofpoint.Event.jsonl", (e) => "messageID" in e),
    paths: ["messageTime"],
  },
  {
    format: "m365_azure_ad_audit",
    event: () =>
      firstOf(
        "azure_entra_signin/panther-analysis__Microsoft365.Audit.AzureActiveDirectory.jsonl",
        (e) => e["Operation"] === "UserLoggedIn",
      ),
    paths: ["CreationTime"],
  },
];

test("every normalizer: an absent or redacted time falls back to the received time, marked", () => {
  for (const { format, event, paths } of SAMPLES) {
    for (const t of [undefined, "redacted"]) {
      try {
        assertFallback(ingestAs(format, withTime(event(), paths, t)), format);
      } catch (err) {
        throw new Error(`${format} with time ${JSON.stringify(t)}`, { cause: err });
      }
    }
  }
  const cef = "CEF:0|Vendor|Product|1.0|100|Port scan|7|src=192.0.2.1 dst=198.51.100.2";
  for (const line of [cef, `${cef} rt=redacted`]) assertFallback(ingestAs("cef", line), "cef");
  const leef = "LEEF:2.0|Vendor|Product|1.0|Login failed|^|src=192.0.2.1^usrName=alice";
  for (const line of [leef, `${leef}^devTime=redacted`]) assertFallback(ingestAs("leef", line), "leef");
});

// Entity key order.

const base = {
  class_uid: 2004,
  activity_id: 1,
  time: 1,
  severity_id: 1,
  finding_info: { uid: "u", title: "t" },
  metadata: { product: { vendor_name: "v", name: "n" } },
} as const;
const key = (d: object) => entityKeyOf({ ...base, ...d }, "src");

test("entity key: host, then user (name, email, uid: a cloud principal's ARN or key), then IP, then the cloud resource, then the source", () => {
  const resources = [{ type: "AWS::S3::Bucket" }, { uid: "arn:aws:s3:::b", type: "AWS::S3::Bucket" }];
  assert.equal(key({ device: { hostname: "H" }, user: { name: "u" }, resources }), "host:h");
  assert.equal(
    key({ user: { name: "Ops-Admin", uid: "AKIAX" }, src_endpoint: { ip: "192.0.2.1" }, resources }),
    "user:ops-admin",
  );
  assert.equal(key({ user: { uid: "arn:aws:iam::1:user/X" } }), "user:arn:aws:iam::1:user/x");
  assert.equal(key({ actor: { user: { uid: "AKIAIOSFODNN7EXAMPLE" } } }), "user:akiaiosfodnn7example");
  assert.equal(key({ src_endpoint: { ip: "192.0.2.1" }, resources }), "ip:192.0.2.1");
  assert.equal(key({ resources }), "resource:arn:aws:s3:::b");
  assert.equal(key({ resources: [{ type: "AttackSequence" }] }), "source:src");
});

test("entity key of account, access, group, entity, API activity and Base Events: affected user, actor, host, IP, resource", () => {
  const activity = (d: object) =>
    entityKeyOf(
      { class_uid: 3001, activity_id: 11, time: 1, severity_id: 1, metadata: base.metadata, user: {}, ...d },
      "src",
    );
  const device = { hostname: "WS-1", ip: "192.0.2.7" };
  assert.equal(activity({ user: { name: "Alice" }, actor: { user: { name: "admin" } }, device }), "user:alice");
  assert.equal(activity({ actor: { user: { name: "Admin" } }, device }), "user:admin");
  assert.equal(activity({ device }), "host:ws-1");
  assert.equal(activity({ src_endpoint: { ip: "198.51.100.1" } }), "ip:198.51.100.1");
  assert.equal(activity({ class_uid: 3004, entity: { uid: "app-1" } }), "resource:app-1");
  assert.equal(activity({ class_uid: 3006, group: { name: "Admins" } }), "resource:Admins");
  assert.equal(
    activity({ class_uid: 6003, actor: {}, api: { operation: "x" }, resources: [{ uid: "/api" }] }),
    "resource:/api",
  );
  assert.equal(activity({ class_uid: 0 }), "source:src");
  assert.equal(key({ device, user: { name: "u" } }), "host:ws-1", "a finding still keys on its host first");
});
