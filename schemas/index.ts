/** Riposte's schemas: OCSF events, topic records, rule and playbook files. */
export * from "./ocsf.ts";
export * from "./records.ts";
export * from "./rules.ts";
export * from "./duration.ts";
export * from "./mapping.ts";
export * from "./rule-tests.ts";
export * from "./incident.ts";
export * from "./playbook-tests.ts";
