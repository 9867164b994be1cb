/**
 * A Mimecast API 2.0 fake speaking the documented shapes (developer.services.mimecast.com: OAuth2 client
 * credentials at `POST /oauth/token`, a 30-minute token; `POST /api/policy/blockedsenders/{create,get,delete}-policy`
 * and `POST /api/ttp/url/{create-managed-url,get-all-managed-urls,delete-managed-url}` with `{meta, data}` bodies, answered `{meta:
 * {status, pagination}, data, fail: [{key, errors: [{code, message, retryable}]}]}`; a validation refusal is HTTP 200
 * with `fail`). Like Mimecast, it stores a second identical policy if asked. Values are Riposte's own test data.
 */
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";
import { RouteFaults } from "./route-faults.ts";

export const MIMECAST_CLIENT_ID = "riposte-mimecast-client";
export const MIMECAST_CLIENT_SECRET = "riposte-mimecast-secret-0123456789";

export interface MimecastPolicy {
  id: string;
  option: string;
  policy: {
    description: string;
    fromPart: string;
    from: { type: string; emailAddress?: string; emailDomain?: string };
    to: { type: string };
  };
}

export interface MimecastFake extends FakeServer {
  readonly routeFaults: RouteFaults;
  readonly policies: MimecastPolicy[];
  readonly managedUrls: Array<Record<string, unknown>>;
  readonly tokenRequests: URLSearchParams[];
  /** Tokens issued so far expire (the API answers 401 to them). */
  expireAll(): void;
  /** Policies per page of get-policy. */
  pageSize: number;
  calls(path: string): Recorded[];
}

export const mimecastFail = (status: number, code: string, message: string, retryable = false): Reply => ({
  status,
  body: { meta: { status }, data: [], fail: [{ errors: [{ code, message, retryable }] }] },
});

export async function startMimecastFake(): Promise<MimecastFake> {
  const routeFaults = new RouteFaults();
  const policies: MimecastPolicy[] = [];
  const managedUrls: Array<Record<string, unknown>> = [];
  const tokenRequests: URLSearchParams[] = [];
  const live = new Set<string>();
  const control = { pageSize: 100 };
  let seq = 0;
  const str = (v: unknown, fallback: string) => (typeof v === "string" ? v : fallback);
  const ok = (data: unknown[], pagination?: Record<string, unknown>): Reply => ({
    status: 200,
    body: { meta: { status: 200, ...(pagination ? { pagination } : {}) }, data, fail: [] },
  });

  function route(req: Recorded): Reply {
    let body: {
      meta?: { pagination?: { pageSize?: number; pageToken?: string } };
      data?: Array<Record<string, unknown>>;
    };
    try {
      body = JSON.parse(req.body) as typeof body;
    } catch {
      return mimecastFail(400, "err_request_malformed", "The request body is not valid JSON");
    }
    const data = Array.isArray(body.data) ? body.data : [];
    switch (req.path) {
      case "/api/policy/blockedsenders/get-policy": {
        const size = Math.min(control.pageSize, body.meta?.pagination?.pageSize ?? 100);
        const start = Number(body.meta?.pagination?.pageToken ?? "0");
        const page = policies.slice(start, start + size);
        const next = start + size < policies.length ? String(start + size) : undefined;
        return ok(page, { pageSize: size, ...(next ? { next } : {}) });
      }
      case "/api/policy/blockedsenders/create-policy": {
        const item = data[0] ?? {};
        const p = (item["policy"] ?? {}) as Record<string, unknown>;
        const type = p["fromType"];
        if (item["option"] !== "block_sender" || (type !== "individual_email_address" && type !== "email_domain"))
          return {
            status: 200,
            body: {
              meta: { status: 200 },
              data: [],
              fail: [
                {
                  key: item,
                  errors: [
                    { code: "err_validation_invalid_value", message: "Invalid fromType or option", retryable: false },
                  ],
                },
              ],
            },
          };
        const policy: MimecastPolicy = {
          id: `eNo1zrEOgjAUheF3uXOHtoBItw${String(++seq).padStart(4, "0")}`,
          option: "block_sender",
          policy: {
            description: str(p["description"], ""),
            fromPart: str(p["fromPart"], "envelope_from"),
            from:
              type === "email_domain"
                ? { type, emailDomain: String(p["fromValue"]) }
                : { type: String(type), emailAddress: String(p["fromValue"]) },
            to: { type: str(p["toType"], "everyone") },
          },
        };
        policies.push(policy);
        return ok([policy]);
      }
      case "/api/policy/blockedsenders/delete-policy": {
        const id = data[0]?.["id"];
        const i = policies.findIndex((p) => p.id === id);
        if (i < 0)
          return {
            status: 200,
            body: {
              meta: { status: 200 },
              data: [],
              fail: [
                {
                  key: { id },
                  errors: [{ code: "err_policy_not_found", message: "Policy not found", retryable: false }],
                },
              ],
            },
          };
        policies.splice(i, 1);
        return ok([{ id }]);
      }
      case "/api/ttp/url/delete-managed-url": {
        const id = data[0]?.["id"];
        const i = managedUrls.findIndex((u) => u["id"] === id);
        if (i < 0)
          return {
            status: 200,
            body: {
              meta: { status: 200 },
              data: [],
              fail: [
                {
                  key: { id },
                  errors: [{ code: "err_managed_url_not_found", message: "Managed URL not found", retryable: false }],
                },
              ],
            },
          };
        managedUrls.splice(i, 1);
        return ok([{ id }]);
      }
      case "/api/ttp/url/get-all-managed-urls":
        return ok(managedUrls);
      case "/api/ttp/url/create-managed-url": {
        const item = data[0] ?? {};
        let u: URL;
        try {
          u = new URL(String(item["url"]));
        } catch {
          return {
            status: 200,
            body: {
              meta: { status: 200 },
              data: [],
              fail: [
                {
                  key: item,
                  errors: [{ code: "err_validation_url_invalid", message: "Invalid URL", retryable: false }],
                },
              ],
            },
          };
        }
        const entry = {
          id: `mu-${++seq}`,
          scheme: u.protocol.replace(":", ""),
          domain: u.hostname,
          port: -1,
          path: u.pathname,
          queryString: u.search.replace(/^\?/, ""),
          action: String(item["action"]),
          matchType: str(item["matchType"], "explicit"),
          comment: str(item["comment"], ""),
          disableLogClick: item["disableLogClick"] === true,
          disableRewrite: false,
          disableUserAwareness: false,
        };
        managedUrls.push(entry);
        return ok([entry]);
      }
      default:
        return mimecastFail(404, "err_resource_not_found", "Resource not found");
    }
  }

  const fake = await startFake((req) => {
    if (req.method === "POST" && req.path === "/oauth/token") {
      const form = new URLSearchParams(req.body);
      tokenRequests.push(form);
      if (
        form.get("grant_type") !== "client_credentials" ||
        form.get("client_id") !== MIMECAST_CLIENT_ID ||
        form.get("client_secret") !== MIMECAST_CLIENT_SECRET
      )
        return { status: 401, body: { error: "invalid_client", error_description: "Invalid client credentials" } };
      const token = `mc-token-${++seq}`;
      live.add(token);
      return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: 1800, scope: "" } };
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (req.method !== "POST") return mimecastFail(405, "err_method_not_allowed", "Only POST is supported");
    if (!token || !live.has(token)) return mimecastFail(401, "token_verification_failed", "Token verification failed");
    return routeFaults.answer(req, route);
  });
  return Object.defineProperties(
    Object.assign(fake, {
      routeFaults,
      policies,
      managedUrls,
      tokenRequests,
      expireAll: () => live.clear(),
      calls: (path: string) => fake.requests.filter((r) => r.path === path),
    }),
    {
      pageSize: {
        get: () => control.pageSize,
        set: (n: number) => void (control.pageSize = n),
        enumerable: true,
      },
    },
  ) as MimecastFake;
}
