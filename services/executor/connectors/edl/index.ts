/**
 * The external dynamic lists Riposte serves (`GET /v1/edl/{name}`, see list.ts): `block_ip` lists an address or
 * CIDR block until its TTL runs out, `unblock_ip` takes it off. No vendor is called, so the connector needs no URL
 * and is always live; firewalls pick a change up at their next poll.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { blockIp } from "./block-ip.ts";
import { EdlClient } from "./transport.ts";
import { unblockIp } from "./unblock-ip.ts";

export { EdlClient } from "./transport.ts";
export {
  EDL_MAX_TTL_MS,
  EDL_NAME,
  addEntry,
  canonicalEntry,
  edlKey,
  edlText,
  listEntries,
  removeEntry,
  type ListedEntry,
} from "./list.ts";

export const edl: ConnectorDescriptor<EdlClient> = {
  name: "edl",
  title: "External dynamic list (served by Riposte)",
  credentials: [],
  local: true,
  client: (_url, _credentials, env) => new EdlClient(env),
  actions: { block_ip: blockIp, unblock_ip: unblockIp },
};
