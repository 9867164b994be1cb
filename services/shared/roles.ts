/**
 * API roles, least to most: a viewer reads; an analyst also replays the DLQ and changes incidents; an approver also
 * decides approvals; an admin also changes the guards and reloads rules. Shared by the configuration (which parses
 * RIPOSTE_API_TOKENS), the API (which checks each route's least role) and the executor (approval gates' roles).
 */
export const ROLES = ["viewer", "analyst", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Whether `role` is `least` or above it. */
export function atLeast(role: Role, least: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(least);
}

/** A named API token with its role. The token is a secret: never logged, never audited. */
export interface ApiToken {
  readonly name: string;
  readonly role: Role;
  readonly token: string;
}

/** Token names: what audit records and incident histories show as the actor. */
export const TOKEN_NAME = /^[A-Za-z0-9._-]{1,64}$/;
