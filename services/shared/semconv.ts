/**
 * The names of Riposte's telemetry, in one place: metric names and their labels, and span attribute names —
 * Riposte's own (`riposte.*`) and the OpenTelemetry semantic conventions' (HTTP server and client, database,
 * messaging) that the spans use.
 */

/** Span attribute names. */
export const ATTR = {
  source: "riposte.source",
  format: "riposte.format",
  entityKey: "riposte.entity.key",
  alertUid: "riposte.alert.uid",
  ruleId: "riposte.rule.id",
  ruleVersion: "riposte.rule.version",
  decisionId: "riposte.decision.id",
  decisionOutcome: "riposte.decision.outcome",
  playbook: "riposte.playbook.id",
  step: "riposte.playbook.step",
  actionId: "riposte.action.id",
  actionStatus: "riposte.action.status",
  approvalId: "riposte.approval.id",
  approvalVerdict: "riposte.approval.verdict",
  /** Who decided an approval: the token's name, or `expiry`. */
  approvalBy: "riposte.approval.by",
  connector: "riposte.connector.name",
  connectorAction: "riposte.connector.action",
  dlqStage: "riposte.dlq.stage",
  dlqCode: "riposte.dlq.code",
  batchSize: "riposte.batch.size",
  linkKind: "riposte.link",
  // HTTP (server and client spans).
  httpStatus: "http.response.status_code",
  httpMethod: "http.request.method",
  httpRoute: "http.route",
  urlPath: "url.path",
  urlScheme: "url.scheme",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  // Database client spans (Redis).
  dbSystem: "db.system.name",
  dbOperation: "db.operation.name",
  dbQuery: "db.query.text",
  dbNamespace: "db.namespace",
  dbProcedure: "db.stored_procedure.name",
  dbBatchSize: "db.operation.batch.size",
  dbStatus: "db.response.status_code",
  // Messaging spans (Kafka).
  msgSystem: "messaging.system",
  msgDestination: "messaging.destination.name",
  msgOperationType: "messaging.operation.type",
  msgOperationName: "messaging.operation.name",
  msgPartition: "messaging.destination.partition.id",
  msgKafkaKey: "messaging.kafka.message.key",
  msgKafkaOffset: "messaging.kafka.offset",
  msgConsumerGroup: "messaging.consumer.group.name",
  msgBatchCount: "messaging.batch.message_count",
} as const;

/** Plain counters: on /v1/stats, and as `riposte_<name>` on /metrics. */
export const COUNTERS = [
  "ingest_normalized_total",
  "ingest_dead_lettered_total",
  "ingest_dropped_total",
  "correlator_events_total",
  "correlator_decisions_total",
  "correlator_duplicates_total",
  "correlator_suppressed_total",
  "correlator_no_match_total",
  "correlator_dead_lettered_total",
  "correlator_late_total",
  "correlator_incidents_opened_total",
  "correlator_incidents_merged_total",
  "correlator_incident_conflicts_total",
  "correlator_incident_failures_total",
  "executor_decisions_total",
  "executor_actions_total",
  "executor_actions_failed_total",
  "executor_replays_skipped_total",
  "executor_dead_lettered_total",
] as const;
export type MetricName = (typeof COUNTERS)[number];

/**
 * Labelled series (Prometheus name → help). Label names used with them live in LABEL.
 */
export const SERIES = {
  riposte_alerts_in_total: "Alerts received, by source and format",
  riposte_alerts_out_total: "Normalized events published, by source, format and OCSF class",
  riposte_dlq_records_total: "Dead-letter records written, by stage and code",
  riposte_rule_hits_total: "Rule matches, by rule",
  riposte_decisions_total: "Decision records, by outcome and playbook",
  riposte_actions_total: "Playbook actions, by connector, action and outcome",
} as const;
export type SeriesName = keyof typeof SERIES;

export const HISTOGRAMS = {
  riposte_mttd_seconds: {
    help: "Mean time to detect: the alert's event time to its decision, by rule and playbook",
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400],
  },
  riposte_mttr_seconds: {
    help: "Mean time to respond: the decision to the containment the vendor confirmed, by rule and playbook",
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
  },
  riposte_vendor_call_seconds: {
    help: "Vendor API call latency, by connector, HTTP method and status (or error)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  riposte_stage_seconds: {
    help: "Latency per stage: correlate and execute per message, from its publication on the stage's input topic to the end of its processing; ingest per request body",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  },
} as const;
export type HistogramName = keyof typeof HISTOGRAMS;

export const GAUGES = {
  riposte_consumer_lag_messages: "Messages not yet consumed, by consumer group, topic and partition",
  riposte_kill_switch: "1 while the containment kill switch is on",
} as const;
export type GaugeName = keyof typeof GAUGES;

/** Label (attribute) names. */
export const LABEL = {
  source: "source",
  format: "format",
  classUid: "class_uid",
  stage: "stage",
  code: "code",
  rule: "rule",
  playbook: "playbook",
  outcome: "outcome",
  connector: "connector",
  action: "action",
  method: "method",
  status: "status",
  group: "group",
  topic: "topic",
  partition: "partition",
} as const;
