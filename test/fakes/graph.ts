/**
 * A Microsoft Graph v1.0 fake speaking the documented shapes (learn.microsoft.com graph/api: user-get,
 * user-update (204), user-revokesigninsessions (200 `{"value": true}`), user-list-messages with
 * `$filter=internetMessageId eq '...'` paged by `@odata.nextLink`, message-get, message-move (201, a new id),
 * message-permanentdelete (204), user-sendmail (202); concepts/errors: `{"error": {"code", "message",
 * "innerError"}}`), with its own Entra token endpoint (entra.ts). Users, mailboxes and messages are Riposte's own
 * test data.
 */
import { GRAPH_SCOPE } from "../../services/executor/connectors/graph/index.ts";
import { entraFake, type EntraFake } from "./entra.ts";
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";
import { RouteFaults } from "./route-faults.ts";

export interface GraphUserRecord {
  id: string;
  userPrincipalName: string;
  mail: string;
  displayName: string;
  accountEnabled: boolean;
}

export interface GraphMessage {
  id: string;
  internetMessageId: string;
  subject: string;
  parentFolderId: string;
}

export interface GraphFake extends FakeServer {
  readonly entra: EntraFake;
  readonly routeFaults: RouteFaults;
  readonly users: GraphUserRecord[];
  /** Mailbox (lower-case address) → its messages. */
  readonly mailboxes: Map<string, GraphMessage[]>;
  /** Mailboxes the app may not read or change (403 ErrorAccessDenied: an application access policy). */
  readonly forbidden: Set<string>;
  /** Mails accepted by sendMail: the sender and the parsed body. */
  readonly sent: Array<{ sender: string; body: Record<string, unknown> }>;
  /** Messages per page of a message list. */
  pageSize: number;
  revocations(): Recorded[];
  purges(): Recorded[];
  messageSearches(): Recorded[];
}

export const graphError = (status: number, code: string, message: string): Reply => ({
  status,
  body: {
    error: {
      code,
      message,
      innerError: { date: "2026-01-01T00:00:00", "request-id": "00000000-0000-0000-0000-0000000000bb" },
    },
  },
});

const unquote = (s: string) => s.replace(/''/g, "'");

export async function startGraphFake(users: GraphUserRecord[] = []): Promise<GraphFake> {
  const entra = entraFake(GRAPH_SCOPE);
  const routeFaults = new RouteFaults();
  const mailboxes = new Map<string, GraphMessage[]>();
  const forbidden = new Set<string>();
  const sent: GraphFake["sent"] = [];
  const control = { pageSize: 10 };
  let seq = 0;
  let base = "";
  const user = (key: string) => {
    const k = key.toLowerCase();
    return users.find((u) => u.id.toLowerCase() === k || u.userPrincipalName.toLowerCase() === k);
  };
  const noUser = (key: string) =>
    graphError(
      404,
      "Request_ResourceNotFound",
      `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
    );
  const noMailbox = () => graphError(404, "ErrorInvalidUser", "The requested user is invalid.");
  const denied = () => graphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
  const noItem = () => graphError(404, "ErrorItemNotFound", "The specified object was not found in the store.");

  function route(req: Recorded): Reply {
    const path = req.path;
    const u = /^\/v1\.0\/users\/([^/]+)(\/.*)?$/.exec(path);
    if (!u) return graphError(400, "BadRequest", "Invalid version");
    const key = decodeURIComponent(u[1] as string);
    const rest = u[2] ?? "";
    if (rest === "" && req.method === "GET") {
      const found = user(key);
      return found
        ? { status: 200, body: { "@odata.context": `${base}/v1.0/$metadata#users/$entity`, ...found } }
        : noUser(key);
    }
    if (rest === "" && req.method === "PATCH") {
      const found = user(key);
      if (!found) return noUser(key);
      const body = JSON.parse(req.body || "{}") as { accountEnabled?: unknown };
      if (typeof body.accountEnabled !== "boolean")
        return graphError(400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled'");
      found.accountEnabled = body.accountEnabled;
      return { status: 204 };
    }
    if (rest === "/revokeSignInSessions" && req.method === "POST") {
      if (!user(key)) return noUser(key);
      return { status: 200, body: { "@odata.context": `${base}/v1.0/$metadata#Edm.Boolean`, value: true } };
    }
    if (rest === "/sendMail" && req.method === "POST") {
      if (!mailboxes.has(key.toLowerCase())) return noMailbox();
      const body = JSON.parse(req.body || "{}") as Record<string, unknown>;
      const message = body["message"] as { toRecipients?: unknown } | undefined;
      if (!message || !Array.isArray(message.toRecipients) || message.toRecipients.length === 0)
        return graphError(400, "ErrorInvalidRecipients", "At least one recipient is not valid.");
      sent.push({ sender: key.toLowerCase(), body });
      return { status: 202 };
    }
    const box = mailboxes.get(key.toLowerCase());
    if (rest.startsWith("/messages")) {
      if (!box) return noMailbox();
      if (forbidden.has(key.toLowerCase())) return denied();
    }
    if (rest === "/messages" && req.method === "GET") {
      const m = /^internetMessageId eq '((?:[^']|'')*)'$/.exec(req.query.get("$filter") ?? "");
      if (!m) return graphError(400, "BadRequest", "Invalid filter clause");
      const wanted = unquote(m[1] as string);
      const all = (box ?? []).filter((x) => x.internetMessageId === wanted);
      const skip = Number(req.query.get("$skiptoken") ?? "0");
      const size = Math.min(control.pageSize, Number(req.query.get("$top") ?? "10"));
      const next = new URL(`${base}${path}`);
      for (const [k, v] of req.query) next.searchParams.set(k, v);
      next.searchParams.set("$skiptoken", String(skip + size));
      return {
        status: 200,
        body: {
          "@odata.context": `${base}/v1.0/$metadata#users('${key}')/messages`,
          value: all.slice(skip, skip + size),
          ...(skip + size < all.length ? { "@odata.nextLink": next.toString() } : {}),
        },
      };
    }
    const msg = /^\/messages\/([^/]+)(\/move|\/permanentDelete)?$/.exec(rest);
    if (msg && box) {
      const id = decodeURIComponent(msg[1] as string);
      const i = box.findIndex((x) => x.id === id);
      if (i < 0) return noItem();
      const found = box[i] as GraphMessage;
      if (!msg[2] && req.method === "GET") return { status: 200, body: { id: found.id } };
      if (msg[2] === "/permanentDelete" && req.method === "POST") {
        box.splice(i, 1);
        return { status: 204 };
      }
      if (msg[2] === "/move" && req.method === "POST") {
        const dest = (JSON.parse(req.body || "{}") as { destinationId?: unknown }).destinationId;
        if (typeof dest !== "string") return graphError(400, "ErrorInvalidIdMalformed", "Id is malformed.");
        const moved = { ...found, id: `${found.id}-moved-${++seq}`, parentFolderId: dest };
        box.splice(i, 1, moved);
        return { status: 201, body: { "@odata.context": `${base}/v1.0/$metadata#messages/$entity`, ...moved } };
      }
    }
    return graphError(400, "BadRequest", `Unsupported request ${req.method} ${path}`);
  }

  const fake = await startFake((req) => {
    const token = entra.token(req);
    if (token) return token;
    if (!entra.authorized(req))
      return graphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.");
    return routeFaults.answer(req, route);
  });
  base = fake.url;
  return Object.defineProperties(
    Object.assign(fake, {
      entra,
      routeFaults,
      users,
      mailboxes,
      forbidden,
      sent,
      revocations: () => fake.requests.filter((r) => r.path.endsWith("/revokeSignInSessions")),
      purges: () => fake.requests.filter((r) => /\/messages\/[^/]+\/(move|permanentDelete)$/.test(r.path)),
      messageSearches: () => fake.requests.filter((r) => r.path.endsWith("/messages") && r.method === "GET"),
    }),
    {
      pageSize: {
        get: () => control.pageSize,
        set: (n: number) => void (control.pageSize = n),
        enumerable: true,
      },
    },
  ) as GraphFake;
}
