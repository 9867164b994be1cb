/**
 * Configuration from environment variables, validated once at start and frozen.
 * Every variable is listed in CONFIG_VARIABLES so the README and docker-compose can be checked against it.
 */
import type { IdentitySettings } from "../executor/identity.ts";
import { z } from "zod";
import type { OtlpSettings } from "./telemetry.ts";
import { Duration, NormalizedEvent } from "../../schemas/index.ts";
import { knownFormats, normalizerFor } from "../ingest/normalizers/index.ts";
import { RiposteError } from "./errors.ts";
import {
  GUARD_DEFAULTS,
  parseBreakers,
  parseBudgets,
  parseRateLimits,
  type GuardConfig,
  type Parsed,
} from "../executor/guard-config.ts";
import { parseProtectedEntries } from "../executor/protected.ts";
import { ROLES, TOKEN_NAME, type ApiToken, type Role } from "./roles.ts";

/** A positive duration (`30s`, `5m`, ...) in milliseconds; zero and negative are refused. */
const duration = z.string().trim().pipe(Duration);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optional = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));
const otlpUrl = optional.refine((s) => s === undefined || /^https?:\/\//.test(s), "must be an http(s) URL");
const otlpProtocol = optional.pipe(z.enum(["http/protobuf", "http/json", "grpc"]).optional());

/** Documented environment variables (connector variables are generated per connector). */
/** The Kafka client libraries the bus runs on (RIPOSTE_KAFKA_CLIENT). */
export const KAFKA_CLIENTS = ["kafkajs", "platformatic"] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

export const CONFIG_VARIABLES = {
  KAFKA_BROKERS: "Comma-separated Kafka bootstrap brokers; unset means the embedded in-process bus",
  KAFKA_CLIENT_ID: "Kafka client id (default riposte)",
  RIPOSTE_KAFKA_CLIENT: "Kafka client library: platformatic (@platformatic/kafka, default) or kafkajs",
  REDIS_URL:
    "Redis URL (redis://host:port/db); with RIPOSTE_REDIS_CLUSTER=true, the cluster's seed nodes separated by commas; unset means in-memory state",
  RIPOSTE_REDIS_CLUSTER: "true: REDIS_URL is a Redis Cluster (seed nodes; the client finds the shards). Default false",
  RIPOSTE_TOPIC_PREFIX: "Prefix of every topic name (default riposte)",
  RIPOSTE_TOPIC_PARTITIONS: "Partitions of topics Riposte creates (default 6)",
  RIPOSTE_TOPIC_REPLICATION: "Replication factor of topics Riposte creates (default 1)",
  RIPOSTE_API_HOST: "Address the API binds (default 127.0.0.1)",
  RIPOSTE_API_PORT: "API port (default 8080; 0 picks a free port)",
  RIPOSTE_API_TOKEN: "Bearer token for the API and for ingest from any source: one admin token, named admin",
  RIPOSTE_API_TOKENS:
    "Named API tokens with roles: name:role:token,... (roles viewer < analyst < approver < admin; tokens at least 16 characters, names and tokens unique)",
  RIPOSTE_INGEST_TOKENS: "Per-source ingest tokens: source=token,source=token",
  RIPOSTE_INGEST_MAX_BODY: "Largest accepted ingest body in bytes (default 10485760)",
  RIPOSTE_INGEST_MAX_EVENTS: "Most events (pieces) in one ingest request or raw message (default 50000)",
  RIPOSTE_INGEST_MAX_DEPTH: "Deepest JSON nesting accepted in an event (default 64)",
  RIPOSTE_SOURCE_FORMATS:
    "Formats each source may send: source=fmt|fmt,... or source=* for any; events of other formats are dead-lettered; every source with an ingest token needs a binding",
  RIPOSTE_SOURCE_DROP_CLASSES:
    "OCSF classes each source's events are dropped at ingest for volume: source:class+class,... (e.g. edge-fw:4001+4003,idp:0; * = every source); dropped events are counted, never published or dead-lettered (default none)",
  RIPOSTE_INGEST_HMAC_SECRETS: "Per-source HMAC-SHA256 secrets: source=secret,...; those sources must sign requests",
  RIPOSTE_INGEST_REPLAY_WINDOW: "How far a signature timestamp may be from now (default 5m)",
  RIPOSTE_RAW_SOURCE: "Source name for raw events on <prefix>.alerts.raw without a riposte-source header (default raw)",
  RIPOSTE_SYSLOG_HOST: "Address the syslog listeners bind (default 127.0.0.1)",
  RIPOSTE_SYSLOG_TCP_PORT: "TCP port for CEF/LEEF syslog (RFC 5424/3164, octet counting); unset = off",
  RIPOSTE_SYSLOG_UDP_PORT: "UDP port for CEF/LEEF syslog; unset = off",
  RIPOSTE_SYSLOG_SOURCE: "Source name of syslog events (default syslog)",
  RIPOSTE_SYSLOG_MAX_LINE: "Longest syslog line or frame in bytes (default 65536)",
  RIPOSTE_RULES_DIR: "Directory of rule files; playbooks are in its playbooks/ (default ./rules)",
  RIPOSTE_DEDUP_WINDOW: "How long a re-sent alert counts as a duplicate (default 24h)",
  RIPOSTE_BUDGETS: `Blast-radius budgets: [rule:<id>|rule:*:]<class|action>:<limit>/<window>,... or none (default ${GUARD_DEFAULTS.budgets})`,
  RIPOSTE_KILL_SWITCH: "on pauses every containment action (enrichment, notification, tickets go on); default off",
  RIPOSTE_DRY_RUN:
    "true runs every playbook step in dry run, whatever the connectors' configuration: audited with the exact request, nothing sent (default false)",
  RIPOSTE_IDP_DOMAINS:
    "Identity provider of users by domain when the decision's idp param names none: domain:okta|entra,... (a domain covers its subdomains), e.g. example.com:okta,corp.example.net:entra",
  RIPOSTE_IDP_DEFAULT:
    "Identity provider of users neither the idp param nor RIPOSTE_IDP_DOMAINS places: okta or entra (default okta)",
  RIPOSTE_FOR_EACH_MAX:
    "Most items one for_each playbook step acts on; a longer list fails the step, nothing sent (default 100)",
  RIPOSTE_PROTECTED:
    "Assets never contained, besides rules/protected.yaml: host:NAME,user:NAME,ip:ADDR,cidr:BLOCK (untyped entries are recognised)",
  RIPOSTE_MAX_DECISION_AGE: `Containment for an older decision is refused as stale (default ${GUARD_DEFAULTS.maxDecisionAge})`,
  RIPOSTE_COALESCE_WINDOW:
    "How long the first call of a batched action (block_ip) waits for others to go out in one vendor request (default 200ms)",
  RIPOSTE_COALESCE_MAX:
    "Most calls of a batched action in one vendor request, on top of the connector's own limit (default 500)",
  RIPOSTE_RATE_LIMITS: `Token bucket per connector shared by every executor: <connector|*>:<requests>/<interval>,... or none (default ${GUARD_DEFAULTS.rateLimits})`,
  RIPOSTE_CIRCUIT_BREAKERS: `Circuit breaker per connector: <connector|*>:<failures>/<open for>,... or none (default ${GUARD_DEFAULTS.breakers})`,
  RIPOSTE_CORRELATION_LATENESS:
    "How far an event may be behind the latest event of its correlation group and still count (default 5m)",
  RIPOSTE_RISK_HALF_LIFE: "Half-life of an entity's risk score contributions, in event time (default 24h)",
  RIPOSTE_INCIDENT_WINDOW:
    "How far apart in event time alerts about linked entities may be and still group into one incident (default 24h)",
  RIPOSTE_INCIDENT_RETENTION: "How long an incident is kept after its last alert, in event time (default 30d)",
  RIPOSTE_STATE_DIR: "Where the embedded mode keeps its generated API token (default ./.riposte)",
  RIPOSTE_LOG_LEVEL: "trace, debug, info, warn, error (default info)",
  RIPOSTE_LOG_FORMAT: "json, pretty or auto: readable lines on a terminal, JSON otherwise (default auto)",
  RIPOSTE_TRAIL_RETENTION: "How long GET /v1/alerts/{id}/trail remembers an alert (default 7d)",
  RIPOSTE_EDL_TOKENS:
    "Read tokens of the external dynamic lists served at GET /v1/edl/{name}: name:token,... (bearer, or basic auth password); the API token reads every list",
  RIPOSTE_METRICS_PORT:
    "Port of a /metrics listener for services that serve no API (correlator, executor); unset = off",
  RIPOSTE_CONSUMER_GROUP_PREFIX: "Prefix of consumer group ids (default = topic prefix)",
  OTEL_EXPORTER_OTLP_ENDPOINT:
    "OTLP endpoint for traces and metrics (the Collector); unset means trace context is propagated but not exported",
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "Full OTLP URL for traces only (overrides the endpoint above)",
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "Full OTLP URL for metrics only (overrides the endpoint above)",
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf (default), http/json or grpc",
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "The protocol for traces only",
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "The protocol for metrics only",
  OTEL_METRIC_EXPORT_INTERVAL: "How often metrics are pushed over OTLP, in ms (default 60000)",
  OTEL_TRACES_SAMPLER:
    "always_on, always_off, traceidratio, parentbased_always_on (default), parentbased_always_off, parentbased_traceidratio",
  OTEL_TRACES_SAMPLER_ARG: "The sampling ratio for the *traceidratio samplers, 0 to 1",
  RIPOSTE_TRACE_TRUSTED_SOURCES:
    "Comma-separated sources whose inbound trace context (traceparent, baggage) is continued; * = all (default none)",
} as const;

/** A connector's declared configuration needs (from its descriptor). */
export interface ConnectorConfigSpec {
  readonly name: string;
  readonly credentials: readonly string[];
  /** Read when set, not needed to go live (a login URL with a default, a mail sender only one action uses). */
  readonly optionalCredentials?: readonly string[];
  /**
   * The URL is itself the secret (a Teams Workflows URL signs with `sig=` in its query): a query string is
   * accepted, and the URL is never shown.
   */
  readonly secretUrl?: boolean;
  /** Served by Riposte itself (the EDL): no URL, no credentials, always live. */
  readonly local?: boolean;
}

export interface ConnectorConfig {
  readonly url: string | undefined;
  readonly credentials: Readonly<Record<string, string>>;
  /** True unless both the URL and every credential are configured. */
  readonly dryRun: boolean;
}

/**
 * Source names, one definition for ingest paths, raw-topic headers and configuration: 1-64 letters, digits, '.',
 * '_' or '-', and not `.` or `..`.
 */
export const SOURCE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;
const badSource = (name: string) => `source "${name}": source names are 1-64 letters, digits, '.', '_' or '-'`;

/** A guard setting (budgets, rate limits, breakers): its text, the default when unset, `none` for none. */
const guardSpecs = <T>(parse: (text: string) => Parsed<T>, fallback: string) =>
  optional.transform((s, ctx) => {
    if (s === "none") return [];
    const { value, problems } = parse(s ?? fallback);
    for (const message of problems) ctx.addIssue({ code: "custom", message });
    return value;
  });

/** `name=value,name=value` pairs with values of at least 16 characters (values never appear in messages). */
const pairs = (what: string) =>
  optional.transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of s?.split(",") ?? []) {
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (i < 1 || value.length < 16) {
        ctx.addIssue({ code: "custom", message: `expected source=${what} pairs, each ${what} at least 16 characters` });
        return z.NEVER;
      }
      if (!SOURCE_NAME.test(name)) {
        ctx.addIssue({ code: "custom", message: badSource(name) });
        return z.NEVER;
      }
      out[name] = value;
    }
    return out;
  });

/** EDL names: what `GET /v1/edl/{name}` and the `edl` connector's `list` accept. */
export const EDL_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** `name:token,...` read tokens of the served lists; tokens of at least 16 characters, never in messages. */
const edlTokens = optional.transform((s, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of s?.split(",") ?? []) {
    const i = pair.indexOf(":");
    const name = pair.slice(0, i).trim();
    const token = pair.slice(i + 1).trim();
    if (i < 1 || !EDL_NAME.test(name) || token.length < 16) {
      ctx.addIssue({
        code: "custom",
        message:
          "expected name:token pairs, each name 1-64 lower-case letters, digits, '_' or '-' and each token at least 16 characters",
      });
      return z.NEVER;
    }
    if (Object.hasOwn(out, name)) ctx.addIssue({ code: "custom", message: `list "${name}" has two tokens` });
    out[name] = token;
  }
  return out;
});

/**
 * `name:role:token,...` API tokens with roles. Names and tokens are unique (RIPOSTE_API_TOKEN counts as the token
 * named admin); tokens are at least 16 characters and never appear in messages.
 */
const apiTokens = optional.transform((s, ctx) => {
  const out: ApiToken[] = [];
  const issue = (message: string) => ctx.addIssue({ code: "custom", message });
  for (const [i, entry] of (s?.split(",") ?? []).entries()) {
    const first = entry.indexOf(":");
    const second = first < 0 ? -1 : entry.indexOf(":", first + 1);
    const name = entry.slice(0, Math.max(first, 0)).trim();
    const role = entry.slice(first + 1, Math.max(second, first + 1)).trim();
    const token = second < 0 ? "" : entry.slice(second + 1).trim();
    if (first < 1 || second < 0) {
      issue(`entry ${i + 1}: expected name:role:token`);
      continue;
    }
    if (!TOKEN_NAME.test(name)) issue(`entry ${i + 1}: a name is 1-64 letters, digits, '.', '_' or '-'`);
    if (!(ROLES as readonly string[]).includes(role)) issue(`token "${name}": role must be one of ${ROLES.join(", ")}`);
    if (token.length < 16) issue(`token "${name}": the token must be at least 16 characters`);
    if (out.some((t) => t.name === name)) issue(`token name "${name}" is used twice`);
    if (token.length >= 16 && out.some((t) => t.token === token))
      issue(`token "${name}" has the same token as another: each token must be unique`);
    out.push({ name, role: role as Role, token });
  }
  return out;
});

/** The wildcard of format bindings and trusted trace sources. */
export const ANY = "*";

/**
 * `source=format|format,...` bindings; `source=*` allows any format. Format names and aliases are checked against
 * the normalizers and stored by their canonical name (the name ingest compares with the detected format).
 */
const idpDomains = optional.transform((s, ctx) => {
  const out = new Map<string, "okta" | "entra">();
  for (const pair of s?.split(",") ?? []) {
    const [domain, provider, ...rest] = pair.split(":").map((x) => x.trim().toLowerCase());
    const d = domain?.replace(/\.$/, "");
    if (!d || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d) || (provider !== "okta" && provider !== "entra") || rest.length) {
      ctx.addIssue({
        code: "custom",
        message: `expected domain:okta or domain:entra pairs, e.g. example.com:okta (got "${pair.trim()}")`,
      });
      continue;
    }
    if (out.has(d)) ctx.addIssue({ code: "custom", message: `domain "${d}" is listed twice` });
    out.set(d, provider);
  }
  return out;
});

const formatBindings = optional.transform((s, ctx) => {
  const out: Record<string, string[]> = {};
  const issue = (message: string) => ctx.addIssue({ code: "custom", message });
  for (const pair of s?.split(",") ?? []) {
    const i = pair.indexOf("=");
    const source = pair.slice(0, i).trim();
    const formats = pair
      .slice(i + 1)
      .split("|")
      .map((f) => f.trim())
      .filter(Boolean);
    if (i < 1 || source === "" || formats.length === 0) {
      issue(`expected source=format|format pairs, e.g. edr=crowdstrike_falcon (or edr=${ANY} for any format)`);
      continue;
    }
    if (!SOURCE_NAME.test(source)) {
      issue(badSource(source));
      continue;
    }
    if (Object.hasOwn(out, source))
      issue(`source "${source}" is bound twice: list its formats once, e.g. ${source}=a|b`);
    if (formats.includes(ANY)) {
      if (formats.length > 1) issue(`source "${source}": "${ANY}" allows any format, so it stands alone`);
      out[source] = [ANY];
      continue;
    }
    const canonical: string[] = [];
    for (const f of formats) {
      const n = normalizerFor(f);
      if (!n) issue(`source "${source}" binds unknown format "${f}"; known formats: ${knownFormats().join(", ")}`);
      else if (!canonical.includes(n.format)) canonical.push(n.format);
    }
    out[source] = canonical;
  }
  return out;
});

/** OCSF classes Riposte emits (the class_uid of each NormalizedEvent branch). */
const EMITTED_CLASSES: readonly number[] = NormalizedEvent.options.map((o) => o.shape.class_uid.value);

/**
 * `source:class+class,...` (`*` for every source): OCSF classes dropped at ingest. Detection Findings (2004) are
 * alerts and cannot be dropped; every other class must be one Riposte emits.
 */
const dropClasses = optional.transform((s, ctx) => {
  const out: Record<string, number[]> = {};
  const issue = (message: string) => ctx.addIssue({ code: "custom", message });
  for (const pair of s?.split(",") ?? []) {
    if (pair.trim() === "") continue;
    const i = pair.indexOf(":");
    const source = pair.slice(0, i).trim();
    const classes = pair
      .slice(i + 1)
      .split("+")
      .map((c) => c.trim())
      .filter(Boolean);
    if (i < 1 || source === "" || classes.length === 0) {
      issue(`expected source:class+class pairs, e.g. edge-fw:4001+4003,idp:0 (got "${pair.trim()}")`);
      continue;
    }
    if (source !== ANY && !SOURCE_NAME.test(source)) {
      issue(badSource(source));
      continue;
    }
    if (Object.hasOwn(out, source))
      issue(`source "${source}" is listed twice: list its classes once, e.g. ${source}:a+b`);
    const uids: number[] = [];
    for (const c of classes) {
      const uid = /^\d{1,6}$/.test(c) ? Number(c) : NaN;
      if (uid === 2004) issue(`source "${source}": class 2004 (Detection Finding) holds alerts and is never dropped`);
      else if (!EMITTED_CLASSES.includes(uid))
        issue(
          `source "${source}": "${c}" is not an OCSF class Riposte emits; droppable: ${EMITTED_CLASSES.filter((u) => u !== 2004).join(", ")}`,
        );
      else if (!uids.includes(uid)) uids.push(uid);
    }
    out[source] = uids;
  }
  return out;
});

/** A comma-separated list of source names, or `*` alone for every source. */
const sourceList = optional.transform((s, ctx) => {
  const names = [
    ...new Set(
      (s ?? "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  ];
  if (names.includes(ANY) && names.length > 1)
    ctx.addIssue({ code: "custom", message: `"${ANY}" means every source, so it stands alone` });
  for (const n of names) if (n !== ANY && !SOURCE_NAME.test(n)) ctx.addIssue({ code: "custom", message: badSource(n) });
  return names;
});

const Base = z.object({
  KAFKA_BROKERS: optional.transform((s) =>
    s
      ?.split(",")
      .map((b) => b.trim())
      .filter(Boolean),
  ),
  KAFKA_CLIENT_ID: z.string().default("riposte"),
  RIPOSTE_KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default("platformatic"),
  REDIS_URL: optional.refine(
    (s) => s === undefined || s.split(",").every((u) => /^rediss?:\/\/[^\s,]+$/.test(u.trim())),
    "must start with redis:// or rediss:// (a comma-separated list of them for a cluster)",
  ),
  RIPOSTE_REDIS_CLUSTER: z.enum(["true", "false"]).default("false"),
  RIPOSTE_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'")
    .default("riposte"),
  RIPOSTE_TOPIC_PARTITIONS: int(1, 1024).default(6),
  RIPOSTE_TOPIC_REPLICATION: int(1, 16).default(1),
  RIPOSTE_API_HOST: z.string().default("127.0.0.1"),
  RIPOSTE_API_PORT: int(0, 65535).default(8080),
  RIPOSTE_API_TOKEN: optional.refine((s) => s === undefined || s.length >= 16, "must be at least 16 characters"),
  RIPOSTE_API_TOKENS: apiTokens,
  RIPOSTE_INGEST_TOKENS: pairs("token"),
  RIPOSTE_INGEST_HMAC_SECRETS: pairs("secret"),
  RIPOSTE_SOURCE_FORMATS: formatBindings,
  RIPOSTE_SOURCE_DROP_CLASSES: dropClasses,
  RIPOSTE_INGEST_REPLAY_WINDOW: duration.default(300_000),
  RIPOSTE_RAW_SOURCE: z
    .string()
    .regex(SOURCE_NAME, "a source name: 1-64 letters, digits, '.', '_' or '-', not '.' or '..'")
    .default("raw"),
  RIPOSTE_SYSLOG_HOST: z.string().default("127.0.0.1"),
  RIPOSTE_SYSLOG_TCP_PORT: int(0, 65535).optional(),
  RIPOSTE_SYSLOG_UDP_PORT: int(0, 65535).optional(),
  RIPOSTE_SYSLOG_SOURCE: z
    .string()
    .regex(SOURCE_NAME, "a source name: 1-64 letters, digits, '.', '_' or '-', not '.' or '..'")
    .default("syslog"),
  RIPOSTE_INGEST_MAX_BODY: int(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
  RIPOSTE_INGEST_MAX_EVENTS: int(1, 10_000_000).default(50_000),
  RIPOSTE_INGEST_MAX_DEPTH: int(1, 1024).default(64),
  RIPOSTE_SYSLOG_MAX_LINE: int(480, 16 * 1024 * 1024).default(65_536),
  RIPOSTE_TRACE_TRUSTED_SOURCES: sourceList,
  RIPOSTE_RULES_DIR: z.string().default("rules"),
  RIPOSTE_DEDUP_WINDOW: duration.default(86_400_000),
  RIPOSTE_BUDGETS: guardSpecs(parseBudgets, GUARD_DEFAULTS.budgets),
  RIPOSTE_KILL_SWITCH: z.enum(["on", "off"]).default("off"),
  RIPOSTE_FOR_EACH_MAX: int(1, 10_000).default(100),
  RIPOSTE_IDP_DOMAINS: idpDomains,
  RIPOSTE_IDP_DEFAULT: z.enum(["okta", "entra"]).default("okta"),
  RIPOSTE_DRY_RUN: z.enum(["true", "false"]).default("false"),
  RIPOSTE_PROTECTED: optional.transform((s, ctx) => {
    const { list, problems } = parseProtectedEntries(s ?? "");
    for (const message of problems) ctx.addIssue({ code: "custom", message });
    return list;
  }),
  RIPOSTE_MAX_DECISION_AGE: duration.default(3_600_000),
  RIPOSTE_COALESCE_WINDOW: duration.default(200),
  RIPOSTE_COALESCE_MAX: int(1, 100_000).default(500),
  RIPOSTE_RATE_LIMITS: guardSpecs(parseRateLimits, GUARD_DEFAULTS.rateLimits),
  RIPOSTE_CIRCUIT_BREAKERS: guardSpecs(parseBreakers, GUARD_DEFAULTS.breakers),
  RIPOSTE_CORRELATION_LATENESS: duration.default(300_000),
  RIPOSTE_RISK_HALF_LIFE: duration.default(86_400_000),
  RIPOSTE_INCIDENT_WINDOW: duration.default(86_400_000),
  RIPOSTE_INCIDENT_RETENTION: duration.default(30 * 86_400_000),
  RIPOSTE_STATE_DIR: z.string().default(".riposte"),
  RIPOSTE_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  RIPOSTE_LOG_FORMAT: z.enum(["json", "pretty", "auto"]).default("auto"),
  RIPOSTE_TRAIL_RETENTION: duration.default(7 * 86_400_000),
  RIPOSTE_EDL_TOKENS: edlTokens,
  RIPOSTE_METRICS_PORT: int(0, 65535).optional(),
  RIPOSTE_CONSUMER_GROUP_PREFIX: optional,
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl,
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: otlpUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: otlpProtocol,
  OTEL_METRIC_EXPORT_INTERVAL: int(1_000, 86_400_000).optional(),
  // The SDK reads these itself; validated here so that a typo fails at start instead of silently sampling all.
  OTEL_TRACES_SAMPLER: optional.pipe(
    z
      .enum([
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
      ])
      .optional(),
  ),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
});

export interface Config {
  readonly kafka: {
    readonly brokers: readonly string[] | undefined;
    readonly clientId: string;
    readonly client: KafkaClient;
  };
  readonly redisUrl: string | undefined;
  /** REDIS_URL names a Redis Cluster's seed nodes. */
  readonly redisCluster: boolean;
  readonly topics: { readonly prefix: string; readonly partitions: number; readonly replication: number };
  readonly groupPrefix: string;
  readonly api: {
    readonly host: string;
    readonly port: number;
    readonly token: string | undefined;
    /** Named tokens with roles (RIPOSTE_API_TOKENS); RIPOSTE_API_TOKEN is not among them. */
    readonly tokens: readonly ApiToken[];
    readonly sourceTokens: Readonly<Record<string, string>>;
    readonly maxBodyBytes: number;
    readonly hmacSecrets: Readonly<Record<string, string>>;
    readonly replayWindowMs: number;
    /** Most events (pieces) one ingest request or raw message may hold (RIPOSTE_INGEST_MAX_EVENTS). */
    readonly maxEvents: number;
    /** Deepest JSON nesting accepted in one event (RIPOSTE_INGEST_MAX_DEPTH). */
    readonly maxDepth: number;
    /**
     * Sources whose inbound trace context (traceparent, baggage) is continued; `["*"]` means every source, empty
     * means none (RIPOSTE_TRACE_TRUSTED_SOURCES).
     */
    readonly traceTrustedSources: readonly string[];
  };
  readonly rawSource: string;
  /**
   * Formats each listed source may send, by canonical format name; `["*"]` allows any format. Every source with
   * an ingest token has an entry.
   */
  readonly sourceFormats: Readonly<Record<string, readonly string[]>>;
  /**
   * OCSF classes dropped at ingest per source (`*`: every source), by class_uid; empty means nothing is dropped
   * (RIPOSTE_SOURCE_DROP_CLASSES).
   */
  readonly sourceDropClasses: Readonly<Record<string, readonly number[]>>;
  readonly syslog: {
    readonly host: string;
    readonly tcpPort: number | undefined;
    readonly udpPort: number | undefined;
    readonly source: string;
    /** Longest syslog line or frame in bytes (RIPOSTE_SYSLOG_MAX_LINE). */
    readonly maxLineBytes: number;
  };
  readonly rulesDir: string;
  readonly dedupWindowMs: number;
  /** The executor's safety guards (RIPOSTE_BUDGETS, _KILL_SWITCH, _PROTECTED, _MAX_DECISION_AGE, ...). */
  readonly guards: GuardConfig;
  /** Every playbook step runs in dry run (RIPOSTE_DRY_RUN). */
  readonly dryRun: boolean;
  /** Most items one for_each step acts on (RIPOSTE_FOR_EACH_MAX). */
  readonly forEachMax: number;
  /** Which identity provider holds a user (RIPOSTE_IDP_DOMAINS, RIPOSTE_IDP_DEFAULT). */
  readonly identity: IdentitySettings;
  /** Coalescing of batched actions (RIPOSTE_COALESCE_WINDOW, RIPOSTE_COALESCE_MAX). */
  readonly coalesce: { readonly windowMs: number; readonly max: number };
  /** Default allowed lateness of correlation windows (RIPOSTE_CORRELATION_LATENESS). */
  readonly correlationLatenessMs: number;
  /** Half-life of entity risk contributions (RIPOSTE_RISK_HALF_LIFE). */
  readonly riskHalfLifeMs: number;
  /** Incident grouping window and retention, in event time (RIPOSTE_INCIDENT_WINDOW, RIPOSTE_INCIDENT_RETENTION). */
  readonly incidentWindowMs: number;
  readonly incidentRetentionMs: number;
  readonly stateDir: string;
  readonly logLevel: string;
  readonly logFormat: "json" | "pretty" | "auto";
  readonly trailRetentionMs: number;
  readonly metricsPort: number | undefined;
  readonly otlpEndpoint: string | undefined;
  /** The OTLP exporters' settings (OTEL_* variables). */
  readonly otlp: OtlpSettings;
  readonly connectors: Readonly<Record<string, ConnectorConfig>>;
  /** Read tokens of the served external dynamic lists, by list name (RIPOSTE_EDL_TOKENS). */
  readonly edlTokens: Readonly<Record<string, string>>;
}

function envKey(connector: string, part: string): string {
  return `RIPOSTE_CONNECTOR_${connector.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_${part.toUpperCase()}`;
}

/** The environment variables a connector reads: its URL and each credential. */
export function connectorVariables(spec: ConnectorConfigSpec): string[] {
  if (spec.local) return [];
  return [
    envKey(spec.name, "URL"),
    ...[...spec.credentials, ...(spec.optionalCredentials ?? [])].map((c) => envKey(spec.name, c)),
  ];
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Sources with an ingest token but no format binding. Checked on those two variables alone, so the problem is
 * listed whatever else is wrong.
 */
function bindingProblems(env: NodeJS.ProcessEnv): string[] {
  const tokens = Base.shape.RIPOSTE_INGEST_TOKENS.safeParse(env["RIPOSTE_INGEST_TOKENS"]);
  if (!tokens.success) return [];
  const bound = new Set((env["RIPOSTE_SOURCE_FORMATS"] ?? "").split(",").map((pair) => pair.split("=")[0]?.trim()));
  return Object.keys(tokens.data ?? {})
    .filter((source) => !bound.has(source))
    .map(
      (source) =>
        `RIPOSTE_SOURCE_FORMATS: source "${source}" has an ingest token but no format binding: add ${source}=${normalizerFor(source)?.format ?? "<format>"} (or ${source}=${ANY} to allow any format)`,
    );
}

/** RIPOSTE_API_TOKEN is the token named admin: no named token may take its name or its token. */
function adminTokenProblems(env: NodeJS.ProcessEnv): string[] {
  const tokens = Base.shape.RIPOSTE_API_TOKENS.safeParse(env["RIPOSTE_API_TOKENS"]);
  const admin = env["RIPOSTE_API_TOKEN"]?.trim();
  if (!tokens.success || !admin) return [];
  return (tokens.data ?? []).flatMap((t) => [
    ...(t.name === "admin" ? ["RIPOSTE_API_TOKENS: the name admin is RIPOSTE_API_TOKEN's: pick another"] : []),
    ...(t.token === admin ? [`RIPOSTE_API_TOKENS: token "${t.name}" is the same as RIPOSTE_API_TOKEN`] : []),
  ]);
}

/** Why a connector base URL is refused, or undefined. The URL itself never appears in the message. */
function connectorUrlProblem(raw: string, secretUrl = false): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an http(s) URL";
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || /\s/.test(raw)) return "must be an http(s) URL";
  if (url.username !== "" || url.password !== "")
    return "must not contain user info (user:password@): it would end up in logs and audit records; put credentials in the connector's credential variables";
  if (url.hash !== "" || (url.search !== "" && !secretUrl))
    return "must be a base URL without a query string or fragment (they are not sent, and could carry secrets into logs)";
  return undefined;
}

/**
 * Parses and validates the environment. Throws RIPOSTE_CONFIG_INVALID listing every problem with its variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv, connectors: readonly ConnectorConfigSpec[] = []): Config {
  const parsed = Base.safeParse(env);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`);
  problems.push(...bindingProblems(env));
  problems.push(...adminTokenProblems(env));
  if (env["RIPOSTE_REDIS_CLUSTER"] !== "true" && (env["REDIS_URL"] ?? "").includes(","))
    problems.push(
      "REDIS_URL: lists several servers; set RIPOSTE_REDIS_CLUSTER=true if they are a Redis Cluster's nodes",
    );

  const connectorConfigs: Record<string, ConnectorConfig> = {};
  for (const spec of connectors) {
    if (spec.local) {
      connectorConfigs[spec.name] = { url: undefined, credentials: {}, dryRun: false };
      continue;
    }
    const url = env[envKey(spec.name, "URL")]?.trim() || undefined;
    const urlProblem = url === undefined ? undefined : connectorUrlProblem(url, spec.secretUrl);
    if (urlProblem !== undefined) problems.push(`${envKey(spec.name, "URL")}: ${urlProblem}`);
    const credentials: Record<string, string> = {};
    for (const c of [...spec.credentials, ...(spec.optionalCredentials ?? [])]) {
      const v = env[envKey(spec.name, c)];
      if (v !== undefined && v !== "") credentials[c] = v;
    }
    // A credential that is a URL (a login endpoint) is held to the same rules as the connector's URL.
    for (const c of Object.keys(credentials).filter((k) => k === "url" || k.endsWith("_url"))) {
      const problem = connectorUrlProblem(credentials[c] as string);
      if (problem !== undefined) problems.push(`${envKey(spec.name, c)}: ${problem}`);
    }
    const complete = url !== undefined && spec.credentials.every((c) => credentials[c] !== undefined);
    if (url !== undefined && !complete) {
      const missing = spec.credentials.filter((c) => credentials[c] === undefined).map((c) => envKey(spec.name, c));
      problems.push(
        `${envKey(spec.name, "URL")} is set but ${missing.join(", ")} is not: set it, or unset the URL for dry-run`,
      );
    }
    connectorConfigs[spec.name] = { url, credentials, dryRun: !complete };
  }

  if (!parsed.success || problems.length > 0) {
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", `invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
  const e = parsed.data;
  return deepFreeze({
    kafka: { brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID, client: e.RIPOSTE_KAFKA_CLIENT },
    redisUrl: e.REDIS_URL,
    redisCluster: e.RIPOSTE_REDIS_CLUSTER === "true",
    topics: {
      prefix: e.RIPOSTE_TOPIC_PREFIX,
      partitions: e.RIPOSTE_TOPIC_PARTITIONS,
      replication: e.RIPOSTE_TOPIC_REPLICATION,
    },
    groupPrefix: e.RIPOSTE_CONSUMER_GROUP_PREFIX ?? e.RIPOSTE_TOPIC_PREFIX,
    api: {
      host: e.RIPOSTE_API_HOST,
      port: e.RIPOSTE_API_PORT,
      token: e.RIPOSTE_API_TOKEN,
      tokens: e.RIPOSTE_API_TOKENS ?? [],
      sourceTokens: e.RIPOSTE_INGEST_TOKENS ?? {},
      maxBodyBytes: e.RIPOSTE_INGEST_MAX_BODY,
      hmacSecrets: e.RIPOSTE_INGEST_HMAC_SECRETS ?? {},
      replayWindowMs: e.RIPOSTE_INGEST_REPLAY_WINDOW,
      maxEvents: e.RIPOSTE_INGEST_MAX_EVENTS,
      maxDepth: e.RIPOSTE_INGEST_MAX_DEPTH,
      traceTrustedSources: e.RIPOSTE_TRACE_TRUSTED_SOURCES,
    },
    rawSource: e.RIPOSTE_RAW_SOURCE,
    sourceFormats: e.RIPOSTE_SOURCE_FORMATS ?? {},
    sourceDropClasses: e.RIPOSTE_SOURCE_DROP_CLASSES ?? {},
    syslog: {
      host: e.RIPOSTE_SYSLOG_HOST,
      tcpPort: e.RIPOSTE_SYSLOG_TCP_PORT,
      udpPort: e.RIPOSTE_SYSLOG_UDP_PORT,
      source: e.RIPOSTE_SYSLOG_SOURCE,
      maxLineBytes: e.RIPOSTE_SYSLOG_MAX_LINE,
    },
    rulesDir: e.RIPOSTE_RULES_DIR,
    dedupWindowMs: e.RIPOSTE_DEDUP_WINDOW,
    guards: {
      budgets: e.RIPOSTE_BUDGETS,
      rateLimits: e.RIPOSTE_RATE_LIMITS,
      breakers: e.RIPOSTE_CIRCUIT_BREAKERS,
      maxDecisionAgeMs: e.RIPOSTE_MAX_DECISION_AGE,
      killSwitch: e.RIPOSTE_KILL_SWITCH === "on",
      protected: e.RIPOSTE_PROTECTED,
    },
    forEachMax: e.RIPOSTE_FOR_EACH_MAX,
    identity: { domains: e.RIPOSTE_IDP_DOMAINS, fallback: e.RIPOSTE_IDP_DEFAULT },
    dryRun: e.RIPOSTE_DRY_RUN === "true",
    coalesce: { windowMs: e.RIPOSTE_COALESCE_WINDOW, max: e.RIPOSTE_COALESCE_MAX },
    correlationLatenessMs: e.RIPOSTE_CORRELATION_LATENESS,
    riskHalfLifeMs: e.RIPOSTE_RISK_HALF_LIFE,
    incidentWindowMs: e.RIPOSTE_INCIDENT_WINDOW,
    incidentRetentionMs: e.RIPOSTE_INCIDENT_RETENTION,
    stateDir: e.RIPOSTE_STATE_DIR,
    logLevel: e.RIPOSTE_LOG_LEVEL,
    logFormat: e.RIPOSTE_LOG_FORMAT,
    trailRetentionMs: e.RIPOSTE_TRAIL_RETENTION,
    metricsPort: e.RIPOSTE_METRICS_PORT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    otlp: {
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      tracesEndpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      metricsEndpoint: e.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
      protocol: e.OTEL_EXPORTER_OTLP_PROTOCOL,
      tracesProtocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
      metricsProtocol: e.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
      metricsIntervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
    },
    connectors: connectorConfigs,
    edlTokens: e.RIPOSTE_EDL_TOKENS ?? {},
  });
}

/** Topic names derived from the prefix. */
export function topicNames(prefix: string) {
  return {
    raw: `${prefix}.alerts.raw`,
    normalized: `${prefix}.alerts.normalized`,
    decisions: `${prefix}.decisions`,
    actions: `${prefix}.actions`,
    dlq: `${prefix}.dlq`,
    /** Append-only: every write through the API (who, what, when, from where, result). */
    audit: `${prefix}.audit`,
    /** Approval decisions (approved, denied, expired), which the executors consume to resume waiting runs. */
    approvals: `${prefix}.approvals`,
    /** Compacted, keyed by incident id: each change of an incident, in full. */
    incidents: `${prefix}.incidents`,
  } as const;
}
export type TopicNames = ReturnType<typeof topicNames>;
