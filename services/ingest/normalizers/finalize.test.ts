/**
 * finalize: the received-time fallback (through the registry, for every normalizer that reads its time with
 * `eventTime`) and the entity key's order (host, user / cloud principal, IP, cloud resource, source).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeEvent } from "./index.ts";
import { entityKeyOf, eventTime, finalize, NO_TIME, TIME_FALLBACK_LABEL } from "./finalize.ts";
import { corpusEvents, json, pantherRecords } from "./testing.ts";
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

// These normalizers still throw on an unreadable time; each needs its time read with eventTime (see the report of
// issue 10, part 3). The tests turn green, and can lose their todo, once that change lands.
const todo = "needs its one-line change to eventTime() from finalize.ts";
test("Okta: an event with a redacted `published` normalizes with the received time", { todo }, () => {
  assertFallback(ingest({ ...oktaEvent(), published: "redacted" }), "okta_system_log");
});
test("Entra: a sign-in without createdDateTime/time normalizes with the received time", { todo }, () => {
  const ev = entraEvent();
  const props = ev["properties"] as Record<string, unknown> | undefined;
  const stripped = without(
    { ...ev, ...(props ? { properties: without(props, "createdDateTime") } : {}) },
    "time",
    "createdDateTime",
    "TimeGenerated",
  );
  assertFallback(ingest(stripped), "entra_signin");
});
test("Suricata: an alert with an unparseable timestamp normalizes with the received time", { todo }, () => {
  assertFallback(ingest({ ...suricataAlert(), timestamp: "not a time" }), "suricata_eve");
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
