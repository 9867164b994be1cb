/**
 * Palo Alto Networks PAN-OS: blocks an IP by registering it with the tag of a dynamic address group through the
 * User-ID XML API (no commit; the firewall drops it after `timeout` seconds), unblocks by unregistering it.
 * Configured by RIPOSTE_CONNECTOR_PANOS_URL (the firewall or Panorama), _API_KEY and _TAG.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { blockIp } from "./block-ip.ts";
import { PanosClient } from "./transport.ts";
import { unblockIp } from "./unblock-ip.ts";

export { PanosClient, chunks, readUidResponse, uidMessage, uidRequest } from "./transport.ts";
export type { UidEntry, UidEntryResult, UidUpdate } from "./transport.ts";

export const panos: ConnectorDescriptor<PanosClient> = {
  name: "panos",
  title: "Palo Alto Networks PAN-OS",
  credentials: ["api_key", "tag"],
  client: (url, credentials) => new PanosClient(url, credentials),
  actions: { block_ip: blockIp, unblock_ip: unblockIp },
};
