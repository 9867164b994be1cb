/**
 * OCSF event schemas (the subset Riposte produces), with Riposte's own fields under `riposte`.
 * Zod is the source of truth; `riposte schemas export` writes JSON Schema next to this file.
 */
import { z } from "zod";

/** OCSF severity_id → caption. */
export const SEVERITY = {
  0: "Unknown",
  1: "Informational",
  2: "Low",
  3: "Medium",
  4: "High",
  5: "Critical",
  6: "Fatal",
  99: "Other",
} as const;
export type SeverityId = keyof typeof SEVERITY;

/** OCSF observable type_id values Riposte emits. */
export const OBSERVABLE_TYPE = {
  hostname: 1,
  ip: 2,
  mac: 3,
  user_name: 4,
  email: 5,
  url: 6,
  file_name: 7,
  hash: 8,
  process_name: 9,
  resource_uid: 10,
  port: 11,
  command_line: 13,
  user_agent: 16,
  domain: 1,
  other: 99,
} as const;

const ipString = z.union([z.ipv4(), z.ipv6()]);

export const Os = z.object({
  name: z.string().optional(),
  type: z.string().optional(),
  version: z.string().optional(),
});

export const Endpoint = z.object({
  hostname: z.string().min(1).optional(),
  name: z.string().optional(),
  domain: z.string().optional(),
  ip: ipString.optional(),
  port: z.number().int().min(0).max(65535).optional(),
  mac: z.string().optional(),
  uid: z.string().optional(),
  os: Os.optional(),
  type: z.string().optional(),
  location: z.object({ country: z.string().optional(), city: z.string().optional() }).optional(),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** OCSF account (a cloud account, or the account a user belongs to). */
export const Account = z.object({
  uid: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
});

export const User = z.object({
  name: z.string().optional(),
  uid: z.string().optional(),
  uid_alt: z.string().optional(),
  credential_uid: z.string().optional(),
  account: Account.optional(),
  email_addr: z.string().optional(),
  domain: z.string().optional(),
  type: z.string().optional(),
  full_name: z.string().optional(),
});
export type User = z.infer<typeof User>;

export const Fingerprint = z.object({ algorithm: z.string(), value: z.string() });

export const File = z.object({
  name: z.string().optional(),
  path: z.string().optional(),
  hashes: z.array(Fingerprint).optional(),
  size: z.number().optional(),
});

export const Process = z.object({
  name: z.string().optional(),
  pid: z.number().int().optional(),
  cmd_line: z.string().optional(),
  file: File.optional(),
  user: User.optional(),
  parent_process: z
    .object({ name: z.string().optional(), pid: z.number().int().optional(), cmd_line: z.string().optional() })
    .optional(),
});

export const Actor = z.object({ user: User.optional(), process: Process.optional(), app_name: z.string().optional() });

export const Attack = z.object({
  tactic: z.object({ uid: z.string().optional(), name: z.string().optional() }).optional(),
  technique: z.object({ uid: z.string().optional(), name: z.string().optional() }).optional(),
  version: z.string().optional(),
});

export const Analytic = z.object({
  uid: z.string().optional(),
  name: z.string().optional(),
  type_id: z.number().int().optional(),
  type: z.string().optional(),
  category: z.string().optional(),
  desc: z.string().optional(),
});

export const FindingInfo = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  desc: z.string().optional(),
  types: z.array(z.string()).optional(),
  analytic: Analytic.optional(),
  attacks: z.array(Attack).optional(),
  created_time: z.number().optional(),
  first_seen_time: z.number().optional(),
  last_seen_time: z.number().optional(),
  src_url: z.string().optional(),
  product_uid: z.string().optional(),
});

export const Observable = z.object({
  name: z.string(),
  type_id: z.number().int(),
  type: z.string().optional(),
  value: z.string(),
});
export type Observable = z.infer<typeof Observable>;

export const Metadata = z.object({
  version: z.string(),
  product: z.object({ vendor_name: z.string(), name: z.string(), version: z.string().optional() }),
  uid: z.string().optional(),
  original_time: z.string().optional(),
  log_name: z.string().optional(),
  event_code: z.string().optional(),
  processed_time: z.number().optional(),
  correlation_uid: z.string().optional(),
  labels: z.array(z.string()).optional(),
});

/** OCSF cloud (the cloud profile): where the event happened. */
export const Cloud = z.object({
  provider: z.string(),
  region: z.string().optional(),
  zone: z.string().optional(),
  account: Account.optional(),
  cloud_partition: z.string().optional(),
  project_uid: z.string().optional(),
});

export const Url = z.object({
  url_string: z.string().optional(),
  hostname: z.string().optional(),
  path: z.string().optional(),
});

export const Email = z.object({
  uid: z.string().optional(),
  message_uid: z.string().optional(),
  from: z.string().optional(),
  to: z.array(z.string()).optional(),
  cc: z.array(z.string()).optional(),
  subject: z.string().optional(),
  x_originating_ip: z.array(z.string()).optional(),
  size: z.number().optional(),
});

/** An evidence artifact (OCSF `evidences` object); kept open for vendor-specific parts. */
export const Evidence = z.looseObject({
  device: Endpoint.optional(),
  src_endpoint: Endpoint.optional(),
  dst_endpoint: Endpoint.optional(),
  user: User.optional(),
  actor: Actor.optional(),
  process: Process.optional(),
  file: File.optional(),
  url: Url.optional(),
  email: Email.optional(),
  query: z.object({ hostname: z.string() }).optional(),
});

/** Riposte's own fields, carried on every normalized event. */
export const RiposteFields = z.object({
  /** Source name from the ingest path (`/v1/alerts/{source}`, syslog listener, raw topic). */
  source: z.string().min(1),
  /** Detected or declared input format, e.g. `suricata_eve`. */
  format: z.string().min(1),
  /** Time Riposte received the event, ms since epoch. */
  received_time: z.number().int(),
  /** Primary entity key, `host:<name>`, `user:<name>`, `ip:<addr>` or `resource:<uid>`; the Kafka partition key. */
  entity_key: z.string().min(1),
  /** Stable hash of the vendor event identity, for de-duplication. */
  fingerprint: z.string().min(1),
  /** Set when the event carried no readable time of its own and `time` is the received time. */
  time_fallback: z.literal(true).optional(),
});
export type RiposteFields = z.infer<typeof RiposteFields>;

const base = {
  activity_id: z.number().int(),
  activity_name: z.string().optional(),
  category_uid: z.number().int(),
  category_name: z.string(),
  class_name: z.string(),
  type_uid: z.number().int(),
  time: z.number().int(),
  severity_id: z.number().int(),
  severity: z.string(),
  status_id: z.number().int().optional(),
  status: z.string().optional(),
  message: z.string().optional(),
  metadata: Metadata,
  observables: z.array(Observable).optional(),
  raw_data: z.string().optional(),
  unmapped: z.record(z.string(), z.unknown()).optional(),
  device: Endpoint.optional(),
  actor: Actor.optional(),
  user: User.optional(),
  src_endpoint: Endpoint.optional(),
  dst_endpoint: Endpoint.optional(),
  cloud: Cloud.optional(),
  riposte: RiposteFields,
};

/** OCSF Detection Finding (class 2004): a vendor alert. */
export const DetectionFinding = z.object({
  ...base,
  class_uid: z.literal(2004),
  finding_info: FindingInfo,
  evidences: z.array(Evidence).optional(),
  is_alert: z.boolean().optional(),
  confidence_id: z.number().int().optional(),
  confidence_score: z.number().optional(),
  risk_score: z.number().optional(),
  resources: z
    .array(z.looseObject({ uid: z.string().optional(), name: z.string().optional(), type: z.string().optional() }))
    .optional(),
  remediation: z.object({ desc: z.string() }).optional(),
});
export type DetectionFinding = z.infer<typeof DetectionFinding>;

/** OCSF Authentication (class 3002): sign-ins that rules correlate. */
export const Authentication = z.object({
  ...base,
  class_uid: z.literal(3002),
  user: User,
  auth_protocol: z.string().optional(),
  is_mfa: z.boolean().optional(),
  logon_type: z.string().optional(),
  service: z.object({ name: z.string().optional(), uid: z.string().optional() }).optional(),
  risk_level: z.string().optional(),
  risk_score: z.number().optional(),
});
export type Authentication = z.infer<typeof Authentication>;

/** OCSF Email Activity (class 4009): messages delivered, blocked, clicked. */
export const EmailActivity = z.object({
  ...base,
  class_uid: z.literal(4009),
  email: Email,
  direction_id: z.number().int().optional(),
  direction: z.string().optional(),
  url: Url.optional(),
  verdict: z.string().optional(),
});
export type EmailActivity = z.infer<typeof EmailActivity>;

/** A resource an activity acted on (OCSF resource_details): a bucket, an application, a group, a policy. */
export const Resource = z.looseObject({
  uid: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  region: z.string().optional(),
});

/** OCSF group: the group a user was added to, or a privileged group. */
export const Group = z.object({
  uid: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  privileges: z.array(z.string()).optional(),
});

/** OCSF Base Event (class 0): an event Riposte understands that no more specific class describes. */
export const BaseEvent = z.object({
  ...base,
  class_uid: z.literal(0),
  resources: z.array(Resource).optional(),
});
export type BaseEvent = z.infer<typeof BaseEvent>;

/**
 * OCSF Account Change (class 3001): an account created, enabled, disabled, locked, unlocked, deleted, its password
 * changed or reset, a policy attached or detached, an MFA factor enabled or disabled (activity ids 1–12).
 */
export const AccountChange = z.object({
  ...base,
  class_uid: z.literal(3001),
  user: User,
  user_result: User.optional(),
  resources: z.array(Resource).optional(),
});
export type AccountChange = z.infer<typeof AccountChange>;

/** OCSF Entity Management (class 3004): a managed entity (application, policy, key, device) created, changed, deleted. */
export const EntityManagement = z.object({
  ...base,
  class_uid: z.literal(3004),
  entity: z.looseObject({ uid: z.string().optional(), name: z.string().optional(), type: z.string().optional() }),
  entity_result: z
    .looseObject({ uid: z.string().optional(), name: z.string().optional(), type: z.string().optional() })
    .optional(),
  resources: z.array(Resource).optional(),
});
export type EntityManagement = z.infer<typeof EntityManagement>;

/** OCSF User Access Management (class 3005): privileges assigned to or revoked from a user. */
export const UserAccessManagement = z.object({
  ...base,
  class_uid: z.literal(3005),
  user: User,
  privileges: z.array(z.string()).optional(),
  resources: z.array(Resource).optional(),
});
export type UserAccessManagement = z.infer<typeof UserAccessManagement>;

/** OCSF Group Management (class 3006): a user added to or removed from a group, a group's privileges changed. */
export const GroupManagement = z.object({
  ...base,
  class_uid: z.literal(3006),
  group: Group,
  privileges: z.array(z.string()).optional(),
  resources: z.array(Resource).optional(),
});
export type GroupManagement = z.infer<typeof GroupManagement>;

/** OCSF API Activity (class 6003): an API call (create, read, update, delete) by an actor, on resources. */
export const ApiActivity = z.object({
  ...base,
  class_uid: z.literal(6003),
  actor: Actor,
  api: z.looseObject({
    operation: z.string(),
    service: z.object({ name: z.string().optional(), uid: z.string().optional() }).optional(),
    request: z.object({ uid: z.string().optional() }).optional(),
    response: z
      .object({ code: z.number().int().optional(), error: z.string().optional(), message: z.string().optional() })
      .optional(),
  }),
  resources: z.array(Resource).optional(),
});
export type ApiActivity = z.infer<typeof ApiActivity>;

/** OCSF network connection details shared by the Network Activity category. */
export const ConnectionInfo = z.object({
  protocol_name: z.string().optional(),
  protocol_num: z.number().int().optional(),
  direction: z.string().optional(),
  direction_id: z.number().int().optional(),
  uid: z.string().optional(),
});

export const Traffic = z.object({
  bytes_in: z.number().optional(),
  bytes_out: z.number().optional(),
  packets_in: z.number().optional(),
  packets_out: z.number().optional(),
  bytes: z.number().optional(),
  packets: z.number().optional(),
});

const network = {
  connection_info: ConnectionInfo.optional(),
  traffic: Traffic.optional(),
  app_name: z.string().optional(),
  tls: z.looseObject({ version: z.string().optional(), sni: z.string().optional() }).optional(),
};

/** OCSF Network Activity (class 4001): connections and flows. */
export const NetworkActivity = z.object({ ...base, ...network, class_uid: z.literal(4001) });
export type NetworkActivity = z.infer<typeof NetworkActivity>;

/** OCSF HTTP Activity (class 4002). */
export const HttpActivity = z.object({
  ...base,
  ...network,
  class_uid: z.literal(4002),
  http_request: z
    .looseObject({
      http_method: z.string().optional(),
      url: Url.optional(),
      user_agent: z.string().optional(),
      referrer: z.string().optional(),
    })
    .optional(),
  http_response: z.looseObject({ code: z.number().int().optional(), length: z.number().optional() }).optional(),
});
export type HttpActivity = z.infer<typeof HttpActivity>;

/** OCSF DNS Activity (class 4003): queries and answers. */
export const DnsActivity = z.object({
  ...base,
  ...network,
  class_uid: z.literal(4003),
  query: z.looseObject({ hostname: z.string(), type: z.string().optional(), class: z.string().optional() }).optional(),
  answers: z
    .array(z.looseObject({ rdata: z.string().optional(), type: z.string().optional(), ttl: z.number().optional() }))
    .optional(),
  rcode: z.string().optional(),
  rcode_id: z.number().int().optional(),
});
export type DnsActivity = z.infer<typeof DnsActivity>;

/** OCSF SSH Activity (class 4007). */
export const SshActivity = z.object({
  ...base,
  ...network,
  class_uid: z.literal(4007),
  protocol_ver: z.string().optional(),
  client_hassh: z.looseObject({}).optional(),
  server_hassh: z.looseObject({}).optional(),
});
export type SshActivity = z.infer<typeof SshActivity>;

/** OCSF Network File Activity (class 4010): a file seen on the wire. */
export const NetworkFileActivity = z.object({ ...base, ...network, class_uid: z.literal(4010), file: File });
export type NetworkFileActivity = z.infer<typeof NetworkFileActivity>;

/** Any event Riposte puts on `riposte.alerts.normalized`. */
export const NormalizedEvent = z.discriminatedUnion("class_uid", [
  DetectionFinding,
  Authentication,
  EmailActivity,
  BaseEvent,
  AccountChange,
  EntityManagement,
  UserAccessManagement,
  GroupManagement,
  ApiActivity,
  NetworkActivity,
  HttpActivity,
  DnsActivity,
  SshActivity,
  NetworkFileActivity,
]);
export type NormalizedEvent = z.infer<typeof NormalizedEvent>;

export const OCSF_VERSION = "1.5.0";

/** The event's own identifier: the finding uid, else the vendor's uid, else Riposte's fingerprint. */
export function eventUid(e: NormalizedEvent): string {
  return (e.class_uid === 2004 ? e.finding_info.uid : undefined) ?? e.metadata.uid ?? e.riposte.fingerprint;
}

/** A one-line title for the event. */
export function eventTitle(e: NormalizedEvent): string {
  return (e.class_uid === 2004 ? e.finding_info.title : undefined) ?? e.message ?? e.class_name;
}
