/**
 * Microsoft Entra ID and Exchange Online mail through Microsoft Graph v1.0 (learn.microsoft.com graph/api): users
 * (revokeSignInSessions, accountEnabled), messages by Internet Message-ID in each recipient's mailbox, their removal,
 * and notification mail from a configured sender. Entra client credentials (application permissions
 * User.ReadWrite.All, Mail.ReadWrite, Mail.Send). Throttling: 429 (and some 503) with Retry-After, honoured.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { disableUser } from "./disable-user.ts";
import { enableUser } from "./enable-user.ts";
import { findMessage } from "./find-message.ts";
import { getUser } from "./get-user.ts";
import { purgeMessage } from "./purge-message.ts";
import { restoreMessage } from "./restore-message.ts";
import { revokeSessions } from "./revoke-sessions.ts";
import { sendMail } from "./send-mail.ts";
import { GraphClient } from "./transport.ts";

export { GRAPH_REQUESTS, GRAPH_SCOPE, GraphClient } from "./transport.ts";

export const graph: ConnectorDescriptor<GraphClient> = {
  name: "graph",
  title: "Microsoft Entra ID and mail (Microsoft Graph)",
  credentials: ["tenant_id", "client_id", "client_secret"],
  optionalCredentials: ["auth_url", "mail_sender"],
  client: (url, credentials, env) => new GraphClient(url, credentials, env.now),
  actions: {
    revoke_sessions: revokeSessions,
    disable_user: disableUser,
    enable_user: enableUser,
    get_user: getUser,
    find_message: findMessage,
    purge_message: purgeMessage,
    restore_message: restoreMessage,
    send_mail: sendMail,
  },
};
