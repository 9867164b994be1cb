/**
 * Who is calling: the named API token a request authenticated with, found in constant time. Set by the API's
 * onRequest hook, read by handlers (incident history, approvals) and the audit of writes.
 */
import type { FastifyRequest } from "fastify";
import type { ApiToken, Role } from "../shared/roles.ts";
import { safeEqual } from "./auth.ts";

/** The caller: a token's name and role (never the token). */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

/**
 * The token `token` is, comparing with every configured token in constant time (no early exit, so the time taken
 * tells nothing of which token, or how much of one, matched).
 */
export function principalFor(token: string, tokens: readonly ApiToken[]): Principal | undefined {
  let found: ApiToken | undefined;
  for (const t of tokens) if (safeEqual(token, t.token) && found === undefined) found = t;
  return found && { name: found.name, role: found.role };
}

const PRINCIPALS = new WeakMap<FastifyRequest, Principal>();

export function setPrincipal(req: FastifyRequest, p: Principal): void {
  PRINCIPALS.set(req, p);
}

/** The request's caller, when it authenticated with an API token (not a source's or a list's own token). */
export function principalOf(req: FastifyRequest): Principal | undefined {
  return PRINCIPALS.get(req);
}
