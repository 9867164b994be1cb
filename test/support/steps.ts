/**
 * Runs playbooks through a real Executor on the in-process bus and in-memory state, for connector tests: one call
 * per decision, the audit records it published, nothing else.
 */
import type { Decision, PlaybookFile, Target } from "../../schemas/index.ts";
import { PlaybookFile as PlaybookSchema, targetKey } from "../../schemas/index.ts";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { Executor } from "../../services/executor/executor.ts";
import { Guards, defaultGuardSettings } from "../../services/executor/guards.ts";
import { ProtectedAssets } from "../../services/executor/protected.ts";
import { MemoryBus } from "../../services/shared/bus/index.ts";
import { topicNames, type ConnectorConfig } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { Metrics } from "../../services/shared/metrics.ts";
import { MemoryState, type StateStore } from "../../services/shared/state/index.ts";
import { eventually } from "./env.ts";

const topics = topicNames("steps");

export type Audit = Record<string, unknown> & {
  status: string;
  attempts: number;
  response?: Record<string, unknown>;
  error?: { code: string; message: string };
};

/** A playbook from plain steps (defaults: no retry backoff to speak of). */
export function playbookOf(id: string, steps: Array<Record<string, unknown>>): PlaybookFile {
  return PlaybookSchema.parse({
    id,
    version: 1,
    name: id,
    steps: steps.map((s) => ({ timeout: "2s", retry: { max: 2, backoff: "10ms" }, ...s })),
  });
}

let seq = 0;

/** A respond decision for `target` running `playbook`. */
export function decisionFor(playbook: string, target: Target, params: Record<string, unknown> = {}): Decision {
  const id = `dec-${process.pid}-${++seq}`;
  return {
    id,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `alert-${id}`,
      fingerprint: `f-${id}`,
      entity_key: targetKey(target),
      class_uid: 3002,
      title: "t",
      source: "test",
      severity_id: 4,
      time: Date.now(),
    },
    rule: { id: "test-rule", version: 1, hash: "h", name: "test rule" },
    playbook,
    target,
    params: { reason: "a test", ...params },
    approval: "none",
  };
}

/** Runs each decision through an Executor (the same state for all) and returns the audit records, in order. */
export async function runDecisions(opts: {
  playbook: PlaybookFile;
  decisions: Decision[];
  connectorConfig: Record<string, ConnectorConfig>;
  state?: StateStore;
  prefix?: string;
  /** Protected users and IPs for the guards (nothing protected by default). */
  protect?: { users?: string[]; ips?: string[]; cidrs?: string[] };
}): Promise<Audit[]> {
  const state = opts.state ?? new MemoryState();
  const prefix = opts.prefix ?? "steps";
  const bus = new MemoryBus();
  await bus.ensureTopics([topics.actions, topics.dlq, topics.decisions].map((name) => ({ name, partitions: 1 })));
  const actions: Audit[] = [];
  const audit = await bus.subscribe({
    groupId: "audit",
    topics: [topics.actions],
    handler: async (b) => void actions.push(...b.map((m) => JSON.parse(m.value.toString()) as Audit)),
  });
  // Built inside the try, so that a constructor that throws (a bad playbook) still stops the audit consumer.
  const executor = () =>
    new Executor({
      bus,
      state,
      topics,
      playbooks: new Map([[opts.playbook.id, opts.playbook]]),
      connectors: CONNECTORS,
      connectorConfig: opts.connectorConfig,
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: prefix,
      guards: new Guards({
        state,
        prefix,
        settings: defaultGuardSettings({
          protected: new ProtectedAssets({
            hosts: [],
            users: opts.protect?.users ?? [],
            ips: opts.protect?.ips ?? [],
            cidrs: opts.protect?.cidrs ?? [],
          }),
        }),
      }),
    });
  try {
    const ex = executor();
    let offset = 0;
    for (const d of opts.decisions) {
      await ex.handle([
        {
          topic: topics.decisions,
          partition: 0,
          offset: String(offset++),
          key: d.target ? targetKey(d.target) : null,
          value: Buffer.from(JSON.stringify(d)),
          headers: {},
          timestamp: 0,
        },
      ]);
    }
    const end = Number((await bus.offsets(topics.actions)).get(0)?.high ?? "0");
    await eventually(() => actions.length >= end, `the audit consumer to read ${end} action records`, 10_000);
    return actions;
  } finally {
    await audit.stop();
    await bus.close();
  }
}

/** A live connector's configuration. */
export const live = (url: string, credentials: Record<string, string>): ConnectorConfig => ({
  url,
  credentials,
  dryRun: false,
});
