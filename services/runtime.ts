/**
 * Composes the services: one process runs any subset of ingest, correlator, executor and api, on Kafka and
 * Redis when configured, on the in-process bus and in-memory state otherwise (the embedded mode).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { buildApi, type Api } from "./api/app.ts";
import { MemoryTrailStore, RedisTrailStore, trailEntries, type TrailStore } from "./api/trail.ts";
import { StateIncidents } from "./api/incidents.ts";
import { Correlator } from "./correlator/correlator.ts";
import { ImportedLists } from "./correlator/imported.ts";
import { loadLists, loadRules } from "./correlator/load.ts";
import { RuleSet } from "./correlator/ruleset.ts";
import { LiveRules, sharedRulesControl } from "./correlator/live.ts";
import {
  ApprovalStore,
  CONNECTORS,
  Executor,
  Guards,
  RunStore,
  edlText,
  listEntries,
  loadGuardSettings,
} from "./executor/index.ts";
import { Leases } from "./executor/leases.ts";
import { Ingestor } from "./ingest/ingestor.ts";
import { kafkaBus, MemoryBus, type Bus, type InMessage, type Subscription } from "./shared/bus/index.ts";
import { splitBodyAsync, type SplitLimits } from "./ingest/body.ts";
import { replayDlq } from "./ingest/replay.ts";
import { loadSourceMappings } from "./ingest/sources.ts";
import { startSyslog, type SyslogServer } from "./ingest/syslog.ts";
import { inboundTrace, otlpMetricReader } from "./shared/telemetry.ts";
import { dlqRecord } from "./shared/dlq.ts";
import { SOURCE_NAME, topicNames, type Config, type TopicNames } from "./shared/config.ts";
import { RiposteError, isRiposteError, messageOf } from "./shared/errors.ts";
import type { Logger } from "./shared/log.ts";
import { Metrics } from "./shared/metrics.ts";
import { startLagSampler, type LagSource } from "./shared/lag.ts";
import { startMetricsServer, type MetricsServer } from "./shared/metrics-server.ts";
import { startSummary } from "./shared/summary.ts";
import { loadPlaybooks } from "./shared/rulefiles.ts";
import { MemoryState, RedisState, type StateStore } from "./shared/state/index.ts";

export const SERVICES = ["ingest", "correlator", "executor", "api"] as const;

/** How often a correlator checks the versions of the imported lists (one pipelined read of small keys). */
const LIST_REFRESH_MS = 5_000;
export type ServiceName = (typeof SERVICES)[number];

export interface Running {
  readonly bus: Bus;
  readonly state: StateStore;
  readonly topics: TopicNames;
  readonly metrics: Metrics;
  readonly ingestor: Ingestor | undefined;
  readonly api: Api | undefined;
  /** Base URL of the HTTP server, when one listens. */
  readonly url: string | undefined;
  /** The bearer token in force (generated for the embedded mode when none is configured). */
  readonly apiToken: string | undefined;
  /** Reloads the correlator's rule set (SIGHUP); undefined where no correlator runs. */
  readonly reloadRules: (() => Promise<unknown>) | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly config: Config;
  readonly services: readonly ServiceName[];
  readonly log: Logger;
  /** Listen on the configured host/port (default true). */
  readonly listen?: boolean;
  /** Share a bus/state with other runtimes in this process (tests); otherwise created from config. */
  readonly bus?: Bus;
  readonly state?: StateStore;
  /** Called when the bus fails for good (a Kafka consumer that will not restart); `riposte run` exits. */
  readonly onFatal?: (error: Error) => void;
  /** How often the correlator polls the imported lists' versions (default 5 s; tests shorten it). */
  readonly listRefreshMs?: number;
}

/** Reads or creates the embedded mode's API token in the state dir (mode 0600); never logged. */
async function embeddedToken(stateDir: string): Promise<{ token: string; file: string }> {
  const file = join(stateDir, "api-token");
  try {
    const token = (await readFile(file, "utf8")).trim();
    if (token.length >= 16) return { token, file };
  } catch {
    /* created below */
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString("base64url");
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

/**
 * Consumes raw vendor events from `<prefix>.alerts.raw` (for sites that already ship alerts to Kafka): each
 * message is a body as the HTTP ingest takes it; headers `riposte-source` / `riposte-format` name its source
 * and format. Offsets are committed only after the normalized events and DLQ records are durable. A message that
 * cannot be taken in as a whole (too many events, a bad header) is dead-lettered with its bytes and the partition
 * moves on; only a bus that does not acknowledge makes the batch redeliver.
 */
function rawHandler(
  ingestor: Ingestor,
  bus: Bus,
  topics: TopicNames,
  defaultSource: string,
  limits: SplitLimits,
  trustedTrace: ReadonlySet<string>,
  log: Logger,
) {
  return async (messages: readonly InMessage[]): Promise<void> => {
    for (const m of messages) {
      const named = m.headers["riposte-source"] ?? "";
      const source = SOURCE_NAME.test(named) ? named : defaultSource;
      const format = m.headers["riposte-format"];
      try {
        if (format !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(format)) {
          throw new RiposteError("RIPOSTE_QUERY_INVALID", "the riposte-format header is not a format name");
        }
        const pieces = await splitBodyAsync(m.value.toString("utf8"), limits);
        const { parent, links } = inboundTrace(m.headers, trustedTrace.has("*") || trustedTrace.has(source));
        await ingestor.ingest(pieces, { source, format, parent, links });
      } catch (e) {
        if (isRiposteError(e) && e.retriable) throw e;
        const code = isRiposteError(e) ? e.code : "RIPOSTE_NORMALIZER_FAILED";
        log.warn(
          { code, err: messageOf(e), partition: m.partition, offset: m.offset, source },
          "raw message dead-lettered",
        );
        const rec = dlqRecord({
          stage: "ingest",
          code,
          reason: messageOf(e),
          source,
          original: m.value,
          requestedFormat: format,
          time: Date.now(),
          origin: { topic: m.topic, partition: m.partition, offset: m.offset },
        });
        await bus.publish(topics.dlq, [{ key: source, value: JSON.stringify(rec) }]);
      }
    }
  };
}

export async function startServices(opts: StartOptions): Promise<Running> {
  const { config, log } = opts;
  const want = new Set(opts.services);
  // Metrics are pulled on /metrics and, when OTEL_* names an endpoint, pushed over OTLP too.
  const metricReader = otlpMetricReader(config.otlp);
  const metrics = new Metrics({
    serviceName: `riposte-${opts.services.length === 1 ? opts.services[0] : "all"}`,
    ...(metricReader ? { otlpReader: metricReader } : {}),
  });
  const topics = topicNames(config.topics.prefix);
  // Source mappings (rules/sources/*.yaml) join the normalizer registry before anything normalizes.
  const mappings = await loadSourceMappings(config.rulesDir);
  if (mappings.length > 0) log.info({ formats: mappings.map((m) => m.format) }, "source mappings loaded");
  const bus: Bus =
    opts.bus ??
    (config.kafka.brokers
      ? kafkaBus(config.kafka.client, {
          brokers: config.kafka.brokers,
          clientId: config.kafka.clientId,
          log,
          ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
        })
      : new MemoryBus());
  let state: StateStore;
  if (opts.state) state = opts.state;
  else if (config.redisUrl) {
    const redis = new RedisState({ url: config.redisUrl, cluster: config.redisCluster });
    await redis.ready();
    state = redis;
  } else state = new MemoryState();

  const http = want.has("ingest") || want.has("api");
  let apiToken = config.api.token;
  if (http && apiToken === undefined) {
    if (bus.kind === "memory") {
      const t = await embeddedToken(config.stateDir);
      apiToken = t.token;
      log.info({ token_file: t.file }, "no RIPOSTE_API_TOKEN set: generated one for the embedded mode");
    } else if (want.has("api") || Object.keys(config.api.sourceTokens).length === 0) {
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        "RIPOSTE_API_TOKEN is required when the API or ingest runs on Kafka (set it, at least 16 characters)",
      );
    }
  }

  const spec = (name: string) => ({
    name,
    partitions: config.topics.partitions,
    replication: config.topics.replication,
  });
  await bus.ensureTopics([
    spec(topics.raw),
    spec(topics.normalized),
    spec(topics.decisions),
    spec(topics.actions),
    spec(topics.dlq),
    spec(topics.audit),
    spec(topics.approvals),
    // Compacted: the latest record of each incident (keyed by id) stays, like a table.
    { ...spec(topics.incidents), compacted: true },
  ]);

  const subs: Subscription[] = [];
  const stoppers: Array<() => Promise<void>> = [];
  let liveRules: LiveRules | undefined;
  const common = { bus, state, topics, log, metrics, statePrefix: config.topics.prefix };
  if (want.has("correlator")) {
    const lists = await loadLists(config.rulesDir);
    // Lists imported into state (riposte lists import) merge with the files and are polled for new versions.
    const imported = new ImportedLists({
      state,
      prefix: config.topics.prefix,
      lists,
      log: log.child({ component: "lists" }),
    });
    await imported.load();
    imported.start(opts.listRefreshMs ?? LIST_REFRESH_MS);
    stoppers.push(() => imported.stop());
    const rules = new RuleSet(await loadRules(config.rulesDir, lists), lists);
    // Hot reload: the directory is watched, SIGHUP and the API reload it; a broken set is refused, the old one stays.
    const live = new LiveRules(rules, {
      dir: config.rulesDir,
      load: async () => new RuleSet(await loadRules(config.rulesDir, lists), lists),
      log: log.child({ component: "rules" }),
      state,
      prefix: config.topics.prefix,
    });
    live.start();
    liveRules = live;
    stoppers.push(async () => live.stop());
    const correlator = new Correlator({
      ...common,
      log: log.child({ service: "correlator" }),
      rules,
      live,
      consumerGroup: `${config.groupPrefix}.correlator`,
      dedupWindowMs: config.dedupWindowMs,
      latenessMs: config.correlationLatenessMs,
      riskHalfLifeMs: config.riskHalfLifeMs,
      incidents: { windowMs: config.incidentWindowMs, retentionMs: config.incidentRetentionMs },
    });
    subs.push(
      await bus.subscribe({
        groupId: `${config.groupPrefix}.correlator`,
        topics: [topics.normalized],
        handler: correlator.handle,
      }),
    );
    log.info({ rules: rules.rules.map((r) => `${r.rule.id}@${r.rule.version}`) }, "correlator started");
  }
  // One set of guards per process: the executor enforces them, the API turns the shared kill switch on and off.
  const guards = new Guards({
    state,
    prefix: config.topics.prefix,
    settings: await loadGuardSettings(config.guards, config.rulesDir),
    metrics,
  });
  if (want.has("executor")) {
    const playbooks = await loadPlaybooks(config.rulesDir);
    const executor = new Executor({
      ...common,
      log: log.child({ service: "executor" }),
      playbooks,
      connectors: CONNECTORS,
      connectorConfig: config.connectors,
      guards,
      forEachMax: config.forEachMax,
      identity: config.identity,
      dryRun: config.dryRun,
      coalesce: config.coalesce,
      consumerGroup: `${config.groupPrefix}.executor`,
    });
    subs.push(
      await bus.subscribe({
        groupId: `${config.groupPrefix}.executor`,
        topics: [topics.decisions],
        handler: executor.handle,
      }),
      // Verdicts resume the runs waiting for them; the sweep expires approvals and resumes lost verdicts.
      await bus.subscribe({
        groupId: `${config.groupPrefix}.executor-approvals`,
        topics: [topics.approvals],
        handler: executor.handleApprovals,
      }),
    );
    executor.start();
    stoppers.push(() => executor.stop());
    const modes = Object.fromEntries(
      CONNECTORS.map((c) => [c.name, c.local || config.connectors[c.name]?.dryRun === false ? "live" : "dry-run"]),
    );
    log.info({ playbooks: [...playbooks.keys()], connectors: modes }, "executor started");
    const ks = await guards.killSwitch();
    if (ks.on) log.warn({ kill_switch: ks }, "the containment kill switch is on: containment steps are paused");
  }
  const limits: SplitLimits = { maxEvents: config.api.maxEvents, maxDepth: config.api.maxDepth };
  const trustedTrace = new Set(config.api.traceTrustedSources);
  const ingestor = want.has("ingest")
    ? new Ingestor({ bus, topics, metrics, sourceFormats: config.sourceFormats, dropClasses: config.sourceDropClasses })
    : undefined;
  if (ingestor) {
    subs.push(
      await bus.subscribe({
        groupId: `${config.groupPrefix}.ingest-raw`,
        topics: [topics.raw],
        handler: rawHandler(
          ingestor,
          bus,
          topics,
          config.rawSource,
          limits,
          trustedTrace,
          log.child({ component: "raw" }),
        ),
      }),
    );
  }
  // DLQ replay publishes through an ingestor with the same source→format binding as ingest, in every mode.
  const publisher =
    ingestor ??
    new Ingestor({ bus, topics, metrics, sourceFormats: config.sourceFormats, dropClasses: config.sourceDropClasses });
  let syslog: SyslogServer | undefined;
  const { tcpPort, udpPort } = config.syslog;
  if (ingestor && (tcpPort !== undefined || udpPort !== undefined)) {
    syslog = await startSyslog({
      host: config.syslog.host,
      ...(tcpPort !== undefined ? { tcpPort } : {}),
      ...(udpPort !== undefined ? { udpPort } : {}),
      source: config.syslog.source,
      maxLineBytes: config.syslog.maxLineBytes,
      ingestor,
      log: log.child({ component: "syslog" }),
    });
    log.info({ host: config.syslog.host, tcp: syslog.tcpPort, udp: syslog.udpPort }, "syslog listening");
  }
  let api: Api | undefined;
  let trail: TrailStore | undefined;
  let url: string | undefined;
  if (http) {
    // The API service indexes each alert's trail from the three topics, in its own consumer group.
    if (want.has("api")) {
      const store: TrailStore = config.redisUrl
        ? new RedisTrailStore(
            { url: config.redisUrl, cluster: config.redisCluster },
            config.topics.prefix,
            config.trailRetentionMs,
          )
        : new MemoryTrailStore(config.trailRetentionMs);
      trail = store;
      subs.push(
        await bus.subscribe({
          groupId: `${config.groupPrefix}.trail`,
          topics: [topics.normalized, topics.decisions, topics.actions],
          handler: (batch) => store.append(trailEntries(batch, topics)),
        }),
      );
    }
    api = buildApi({
      log,
      metrics,
      ...(trail ? { trail } : {}),
      incidents: new StateIncidents({
        state,
        prefix: config.topics.prefix,
        retentionMs: config.incidentRetentionMs,
        publish: (i) => bus.publish(topics.incidents, [{ key: i.id, value: JSON.stringify(i) }]),
      }),
      // The correlator's own set when it runs here; otherwise what correlators publish to shared state.
      rules: liveRules ?? sharedRulesControl(state, config.topics.prefix),
      apiToken,
      apiTokens: config.api.tokens,
      audit: (r) => bus.publish(topics.audit, [{ key: r.actor, value: JSON.stringify(r) }]),
      runs: new RunStore({ state, prefix: config.topics.prefix }),
      approvals: {
        store: new ApprovalStore({ state, prefix: config.topics.prefix }),
        publish: (v) => bus.publish(topics.approvals, [{ key: v.id, value: JSON.stringify(v) }]),
      },
      sourceTokens: config.api.sourceTokens,
      maxBodyBytes: config.api.maxBodyBytes,
      hmacSecrets: config.api.hmacSecrets,
      replayWindowMs: config.api.replayWindowMs,
      signatureSeen: async (nonce, ttlMs) =>
        (await state.seen(`${config.topics.prefix}:{hmac}:nonce:${nonce}`, ttlMs)) > 1,
      limits,
      traceTrustedSources: config.api.traceTrustedSources,
      ...(ingestor ? { ingestor } : {}),
      replay: (o) =>
        replayDlq({
          bus,
          topics,
          ingestor: publisher,
          state,
          limits,
          groupId: `${config.groupPrefix}.dlq-replay`,
          ...o,
        }),
      health: () => ({ bus: bus.kind, state: state.kind, services: [...want] }),
      edl: {
        tokens: config.edlTokens,
        text: async (name) => edlText(await listEntries(state, config.topics.prefix, name, Date.now())),
      },
      killSwitch: {
        get: () => guards.killSwitch(),
        set: (on, reason, by) => guards.setKillSwitch(on, reason, by),
      },
      containment: {
        leases: new Leases({ state, prefix: config.topics.prefix }),
        guards: () => guards.view(),
      },
    });
    if (opts.listen !== false) {
      url = await api.listen({ host: config.api.host, port: config.api.port });
      log.info({ url, services: [...want] }, "API listening");
    } else await api.ready();
  }

  // Observability around the services: consumer lag of the groups started here, an info summary per interval
  // instead of a line per event, and /metrics on its own port for services without the API.
  const lagSources: LagSource[] = [
    ...(want.has("correlator") ? [{ groupId: `${config.groupPrefix}.correlator`, topic: topics.normalized }] : []),
    ...(want.has("executor") ? [{ groupId: `${config.groupPrefix}.executor`, topic: topics.decisions }] : []),
    ...(ingestor ? [{ groupId: `${config.groupPrefix}.ingest-raw`, topic: topics.raw }] : []),
    ...(trail
      ? [topics.normalized, topics.decisions, topics.actions].map((topic) => ({
          groupId: `${config.groupPrefix}.trail`,
          topic,
        }))
      : []),
  ];
  const lag = startLagSampler(bus, metrics, lagSources, log);
  metrics.onScrape(() => lag.sampleNow());
  const summary = startSummary(metrics, log);
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    const token = apiToken ?? config.api.token;
    if (token === undefined) {
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        "RIPOSTE_METRICS_PORT serves an authenticated /metrics: set RIPOSTE_API_TOKEN (at least 16 characters) too",
      );
    }
    metricsServer = await startMetricsServer({ host: config.api.host, port: config.metricsPort, token, metrics });
    log.info({ port: metricsServer.port }, "metrics listening on /metrics");
  }

  return {
    bus,
    state,
    topics,
    metrics,
    ingestor,
    api,
    url,
    apiToken,
    reloadRules: liveRules?.reload.bind(liveRules, "SIGHUP"),
    stop: async () => {
      lag.stop();
      summary.stop();
      summary.flush();
      await metricsServer?.close();
      await metrics.close();
      await api?.close();
      await syslog?.close();
      await Promise.allSettled(subs.map((s) => s.stop()));
      await Promise.allSettled(stoppers.map((stop) => stop()));
      await trail?.close();
      if (!opts.bus) await bus.close();
      if (!opts.state) await state.close();
    },
  };
}
