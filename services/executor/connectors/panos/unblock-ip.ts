/** `unblock_ip`: unregisters the IP from the configured tag (the reverse of block_ip). */
import { z } from "zod";
import { action } from "../types.ts";
import { resolveIp, single, TAG_PLACEHOLDER } from "./block-ip.ts";
import { IpOrCidr } from "./ip.ts";
import { uidRequest, type PanosClient } from "./transport.ts";

export const UnblockInput = z.strictObject({ ip: IpOrCidr, reason: z.string().max(2000).optional() });

export const unblockIp = action({
  classification: "containment",
  // Unregistering what is not registered is answered "does not exist, ignore unreg".
  idempotent: true,
  reverse: "block_ip",
  lifts: true,
  description: "Unregister an IP or CIDR from the dynamic address group tag (User-ID API, no commit)",
  input: UnblockInput,
  resolve: resolveIp,
  run: async (client: PanosClient, { input, signal }) => {
    const r = single(await client.unregisterIps([input.ip], signal), "unregister");
    return { ip: r.ip, tag: r.tag, unregistered: true, already: r.already };
  },
  preview: (input) => [uidRequest({ unregister: [{ ip: input.ip, tag: TAG_PLACEHOLDER }] })],
});
