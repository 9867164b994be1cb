/**
 * The email gateway block list: Mimecast, through its API 2.0 (developer.services.mimecast.com). Chosen because
 * Mimecast documents a production REST API with OAuth2 client credentials for exactly these lists (Blocked Senders
 * policies, URL Protection managed URLs), each entry readable, deletable and so reversible. Microsoft's Tenant
 * Allow/Block List was the other candidate: its Graph API is beta only (not supported in production) and the
 * supported path is Exchange Online PowerShell, which a REST connector cannot call.
 *
 * Variables: RIPOSTE_CONNECTOR_MIMECAST_URL (the regional API 2.0 base, https://api.services.mimecast.com), _CLIENT_ID,
 * _CLIENT_SECRET (an API 2.0 application whose role may edit Blocked Senders policies and URL Protection). Rate
 * limits are per application and undocumented in numbers: 429 with Retry-After (or X-RateLimit-Reset) is honoured.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { blockSender } from "./block-sender.ts";
import { blockUrl } from "./block-url.ts";
import { MimecastClient } from "./transport.ts";
import { unblockSender } from "./unblock-sender.ts";
import { unblockUrl } from "./unblock-url.ts";

export { MIMECAST_PATHS, MIMECAST_REQUESTS, MimecastClient, mimecastError, mimecastRetryAfterMs } from "./transport.ts";

export const mimecast: ConnectorDescriptor<MimecastClient> = {
  name: "mimecast",
  title: "Mimecast email gateway (API 2.0)",
  credentials: ["client_id", "client_secret"],
  client: (url, credentials, env) => new MimecastClient(url, credentials, env.now),
  actions: {
    block_sender: blockSender,
    unblock_sender: unblockSender,
    block_url: blockUrl,
    unblock_url: unblockUrl,
  },
};
