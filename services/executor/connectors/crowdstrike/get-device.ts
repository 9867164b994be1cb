/** `get_device`: read-only enrichment, a host's Falcon record by hostname, local IP or device id. */
import { action } from "../types.ts";
import { HostInput, deviceOf, lookupPreview } from "./device.ts";
import type { FalconClient } from "./transport.ts";

export const getDevice = action({
  classification: "enrich",
  idempotent: true,
  description: "Look a host up (by name, local IP or device id): device id, hostname, local IP, containment status",
  input: HostInput,
  run: async (client: FalconClient, { input, signal }) => (await deviceOf(client, input, signal)).detail,
  preview: (input) => lookupPreview(input),
});
