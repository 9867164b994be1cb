/**
 * The Microsoft Graph transport (learn.microsoft.com graph/api: user-get, user-update, user-revokesigninsessions,
 * user-list-messages, message-move, message-permanentdelete, user-sendmail; concepts/errors, throttling): Entra
 * client credentials for `https://graph.microsoft.com/.default`, users by id or userPrincipalName, messages found
 * by Internet Message-ID with `@odata.nextLink` paging.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { EntraTokens, MicrosoftApi, objectBody, odataString, withQuery } from "../microsoft.ts";
import type { PlannedRequest } from "../types.ts";

export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
const HINTS = {
  connector: "GRAPH",
  permissions: "Microsoft Graph User.ReadWrite.All (users), Mail.ReadWrite (find, purge) and Mail.Send (notify)",
};

/** Where a dry-run preview shows what a lookup would find, or a value only configuration knows. */
export const ID_PLACEHOLDER = "{id}";
export const SENDER_PLACEHOLDER = "<RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER>";

const seg = (v: string) => (v === ID_PLACEHOLDER || v === SENDER_PLACEHOLDER ? v : encodeURIComponent(v));
const userPath = (user: string) => `/v1.0/users/${seg(user)}`;
const messagePath = (mailbox: string, id: string) => `${userPath(mailbox)}/messages/${seg(id)}`;

/** Where `purge_message` puts a copy: a folder the user does not browse, from which an admin can move it back. */
export const RECOVERABLE_FOLDER = "recoverableitemsdeletions";

/** The requests of each call, shared by the calls and the dry-run preview. */
export const GRAPH_REQUESTS = {
  getUser: (user: string): PlannedRequest => ({
    method: "GET",
    path: withQuery(userPath(user), { $select: "id,userPrincipalName,mail,displayName,accountEnabled" }),
  }),
  revokeSessions: (id: string): PlannedRequest => ({ method: "POST", path: `${userPath(id)}/revokeSignInSessions` }),
  setEnabled: (id: string, enabled: boolean): PlannedRequest => ({
    method: "PATCH",
    path: userPath(id),
    body: { accountEnabled: enabled },
  }),
  findMessages: (mailbox: string, internetMessageId: string): PlannedRequest => ({
    method: "GET",
    path: withQuery(`${userPath(mailbox)}/messages`, {
      $filter: `internetMessageId eq ${odataString(internetMessageId)}`,
      $select: "id,internetMessageId,subject,parentFolderId",
      $top: "100",
    }),
  }),
  getMessage: (mailbox: string, id: string): PlannedRequest => ({
    method: "GET",
    path: withQuery(messagePath(mailbox, id), { $select: "id" }),
  }),
  moveToRecoverable: (mailbox: string, id: string): PlannedRequest => ({
    method: "POST",
    path: `${messagePath(mailbox, id)}/move`,
    body: { destinationId: RECOVERABLE_FOLDER },
  }),
  moveTo: (mailbox: string, id: string, folder: string): PlannedRequest => ({
    method: "POST",
    path: `${messagePath(mailbox, id)}/move`,
    body: { destinationId: folder },
  }),
  permanentDelete: (mailbox: string, id: string): PlannedRequest => ({
    method: "POST",
    path: `${messagePath(mailbox, id)}/permanentDelete`,
  }),
  sendMail: (sender: string, to: string, subject: string, text: string): PlannedRequest => ({
    method: "POST",
    path: `${userPath(sender)}/sendMail`,
    body: {
      // Text, never HTML: the subject and body carry values from the alert.
      message: {
        subject,
        body: { contentType: "Text", content: text },
        toRecipients: [{ emailAddress: { address: to } }],
      },
      saveToSentItems: true,
    },
  }),
} as const;

/** A Graph user (the fields the connector reads). */
export interface GraphUser {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly mail: string;
  readonly displayName: string;
  readonly accountEnabled: boolean | undefined;
}

/** One copy of a message: the mailbox it is in and Graph's id of it there. */
export interface MessageCopy {
  readonly mailbox: string;
  readonly message_id: string;
}

const text = (v: unknown) => (typeof v === "string" ? v : "");
/** The most pages read in one mailbox (100 messages a page). */
const MAX_PAGES = 50;

export class GraphClient {
  readonly api: MicrosoftApi;
  readonly sender: string | undefined;

  constructor(url: string, credentials: Readonly<Record<string, string>>, now?: () => number) {
    this.api = new MicrosoftApi("Graph", HINTS, url, new EntraTokens("Graph", HINTS, credentials, GRAPH_SCOPE, now));
    this.sender = credentials["mail_sender"];
  }

  /** A user by id or userPrincipalName. */
  async user(user: string, signal: AbortSignal): Promise<GraphUser> {
    const b = objectBody(
      "Graph",
      await this.api.call(GRAPH_REQUESTS.getUser(user), signal, "user lookup"),
      "user lookup",
    );
    if (text(b["id"]) === "")
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Graph user lookup: the answer has no user id");
    return {
      id: text(b["id"]),
      userPrincipalName: text(b["userPrincipalName"]),
      mail: text(b["mail"]),
      displayName: text(b["displayName"]),
      accountEnabled: typeof b["accountEnabled"] === "boolean" ? b["accountEnabled"] : undefined,
    };
  }

  /**
   * The copies of a message (by Internet Message-ID) in one mailbox, every page; undefined when the mailbox does
   * not exist (a 404: an external recipient, a distribution list).
   */
  async copiesIn(mailbox: string, internetMessageId: string, signal: AbortSignal): Promise<MessageCopy[] | undefined> {
    const copies: MessageCopy[] = [];
    let path: string | undefined = GRAPH_REQUESTS.findMessages(mailbox, internetMessageId).path;
    for (let page = 0; path !== undefined; page++) {
      if (page === MAX_PAGES)
        throw new RiposteError(
          "RIPOSTE_CONNECTOR_REJECTED",
          `Graph find_message: more than ${MAX_PAGES} pages of copies in ${mailbox}; purge by hand`,
        );
      const res = await this.api.send({ method: "GET", path }, signal);
      if (res.status === 404 && page === 0) return undefined;
      if (res.status < 200 || res.status > 299) throw this.api.error(res, "find_message");
      const b = objectBody("Graph", res, "find_message");
      if (!Array.isArray(b["value"]))
        throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Graph find_message: the answer has no value list");
      for (const m of b["value"] as unknown[]) {
        const id = text((m as Record<string, unknown> | null)?.["id"]);
        // Graph's filter is exact, but a copy is only taken when the vendor says it is the same message.
        if (id !== "" && text((m as Record<string, unknown>)["internetMessageId"]) === internetMessageId)
          copies.push({ mailbox, message_id: id });
      }
      path = this.api.nextPath(b["@odata.nextLink"], "find_message");
    }
    return copies;
  }

  /**
   * Removes one copy: moved to Recoverable Items (a new id, from which it can be moved back) or permanently
   * deleted. A 404 means it is already gone (an earlier attempt moved or deleted it).
   */
  async purge(copy: MessageCopy, mode: "recoverable" | "permanent", signal: AbortSignal) {
    const planned =
      mode === "permanent"
        ? GRAPH_REQUESTS.permanentDelete(copy.mailbox, copy.message_id)
        : GRAPH_REQUESTS.moveToRecoverable(copy.mailbox, copy.message_id);
    const res = await this.api.send(planned, signal);
    if (res.status === 404) return { ...copy, result: "already_gone" as const };
    if (res.status < 200 || res.status > 299) throw this.api.error(res, "purge_message");
    if (mode === "permanent") return { ...copy, result: "deleted" as const };
    const moved =
      typeof res.body === "object" && res.body !== null ? text((res.body as Record<string, unknown>)["id"]) : "";
    return { ...copy, result: "moved" as const, folder: RECOVERABLE_FOLDER, ...(moved ? { new_id: moved } : {}) };
  }

  /** Moves a copy back to a folder (inbox); a 404 means it is no longer where it was put (already moved). */
  async restore(copy: MessageCopy, folder: string, signal: AbortSignal) {
    const res = await this.api.send(GRAPH_REQUESTS.moveTo(copy.mailbox, copy.message_id, folder), signal);
    if (res.status === 404) return { ...copy, result: "not_there" as const };
    if (res.status < 200 || res.status > 299) throw this.api.error(res, "restore_message");
    const moved =
      typeof res.body === "object" && res.body !== null ? text((res.body as Record<string, unknown>)["id"]) : "";
    return { ...copy, result: "restored" as const, folder, ...(moved ? { new_id: moved } : {}) };
  }

  /** Whether a copy is still where it was (read-only). */
  async present(copy: MessageCopy, signal: AbortSignal): Promise<boolean> {
    const res = await this.api.send(GRAPH_REQUESTS.getMessage(copy.mailbox, copy.message_id), signal);
    if (res.status === 404) return false;
    if (res.status < 200 || res.status > 299) throw this.api.error(res, "message lookup");
    return true;
  }
}
