/**
 * Span attribute names, in one place: Riposte's own (`riposte.*`) and the OpenTelemetry semantic conventions'
 * (HTTP server and client, database, messaging) that the spans use. Metric names live in metrics.ts.
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
