/**
 * An Okta Management API fake speaking the documented shapes (okta-management-openapi-spec,
 * management-minimal.yaml: `GET /api/v1/users/{id}` (id or login), `DELETE /api/v1/users/{userId}/sessions` → 204,
 * `POST /api/v1/users/{id}/lifecycle/suspend|unsuspend` → 200 with an empty body, only from ACTIVE / SUSPENDED;
 * errors as `{errorCode, errorSummary, errorLink, errorId, errorCauses}`: E0000011 401, E0000006 403, E0000007 404,
 * E0000001 400, E0000047 429), with `X-Rate-Limit-Limit/-Remaining/-Reset` on every answer (developer.okta.com,
 * "Rate limit best practices"). Users and values are Riposte's own test data.
 */
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";

export const OKTA_TOKEN = "00riposte-test-okta-token-0123456789";

export interface OktaUserRecord {
  id: string;
  status: "ACTIVE" | "SUSPENDED" | "DEPROVISIONED" | "STAGED";
  profile: { login: string; email: string; firstName?: string; lastName?: string };
}

export interface OktaFake extends FakeServer {
  readonly users: OktaUserRecord[];
  /** Ids whose management the token's admin may not do (403 E0000006). */
  readonly forbidden: Set<string>;
  /** The session revocations received (DELETE .../sessions). */
  revocations(): Recorded[];
  /** The lifecycle requests received. */
  lifecycle(): Recorded[];
}

let errorSeq = 0;
/** An Okta error body. */
export function oktaErrorBody(code: string, summary: string, causes: string[] = []): Record<string, unknown> {
  return {
    errorCode: code,
    errorSummary: summary,
    errorLink: code,
    errorId: `oae${String(++errorSeq).padStart(8, "0")}`,
    errorCauses: causes.map((errorSummary) => ({ errorSummary })),
  };
}

/** A 429 as Okta sends it: E0000047 and the reset time in epoch seconds, no Retry-After. */
export function oktaRateLimited(resetInSeconds: number, now = Date.now()): Reply {
  return {
    status: 429,
    body: oktaErrorBody("E0000047", "API call exceeded rate limit due to too many requests."),
    headers: {
      "x-rate-limit-limit": "600",
      "x-rate-limit-remaining": "0",
      "x-rate-limit-reset": String(Math.ceil(now / 1000) + resetInSeconds),
    },
  };
}

export async function startOktaFake(users: OktaUserRecord[] = []): Promise<OktaFake> {
  const forbidden = new Set<string>();
  const find = (key: string) => {
    const k = decodeURIComponent(key).toLowerCase();
    return users.find((u) => u.id.toLowerCase() === k || u.profile.login.toLowerCase() === k);
  };
  const limits = () => ({
    "x-rate-limit-limit": "600",
    "x-rate-limit-remaining": "599",
    "x-rate-limit-reset": String(Math.ceil(Date.now() / 1000) + 60),
  });
  const reply = (r: Reply): Reply => ({ ...r, headers: { ...limits(), ...r.headers } });
  const notFound = (key: string) =>
    reply({ status: 404, body: oktaErrorBody("E0000007", `Not found: Resource not found: ${key} (User)`) });
  const fake = await startFake((req) => {
    if (req.headers.authorization !== `SSWS ${OKTA_TOKEN}`)
      return reply({ status: 401, body: oktaErrorBody("E0000011", "Invalid token provided") });
    const m = /^\/api\/v1\/users\/([^/]+)(\/sessions|\/lifecycle\/(suspend|unsuspend))?$/.exec(req.path);
    if (!m)
      return reply({
        status: 404,
        body: oktaErrorBody("E0000022", "The endpoint does not support the provided HTTP method"),
      });
    const key = m[1] as string;
    const user = find(key);
    if (!user) return notFound(key);
    if (req.method === "GET" && !m[2]) return reply({ status: 200, body: { ...user, _links: {} } });
    if (forbidden.has(user.id))
      return reply({
        status: 403,
        body: oktaErrorBody("E0000006", "You do not have permission to perform the requested action"),
      });
    if (req.method === "DELETE" && m[2] === "/sessions") return reply({ status: 204 });
    if (req.method === "POST" && m[3]) {
      const from = m[3] === "suspend" ? "ACTIVE" : "SUSPENDED";
      if (user.status !== from)
        return reply({
          status: 400,
          body: oktaErrorBody("E0000001", "Api validation failed: User", [
            `Cannot ${m[3]} a user that is not ${from.toLowerCase()}`,
          ]),
        });
      user.status = m[3] === "suspend" ? "SUSPENDED" : "ACTIVE";
      return reply({ status: 200 });
    }
    return reply({
      status: 405,
      body: oktaErrorBody("E0000022", "The endpoint does not support the provided HTTP method"),
    });
  });
  return Object.assign(fake, {
    users,
    forbidden,
    revocations: () => fake.requests.filter((r) => r.method === "DELETE" && r.path.endsWith("/sessions")),
    lifecycle: () => fake.requests.filter((r) => r.path.includes("/lifecycle/")),
  });
}
