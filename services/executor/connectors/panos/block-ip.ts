/** `block_ip`: registers the IP with the configured tag, so the dynamic address group the policy blocks has it. */
import { z } from "zod";
import { RiposteError } from "../../../shared/errors.ts";
import { action, type ResolvedTarget } from "../types.ts";
import { IpOrCidr } from "./ip.ts";
import { PANOS_MAX_TIMEOUT, uidRequest, type PanosClient, type UidEntryResult } from "./transport.ts";

export const BlockInput = z.strictObject({
  ip: IpOrCidr,
  /** Seconds until the firewall drops the registration by itself: the step's lease TTL (0 = never; at most 30 d). */
  timeout: z.coerce.number().int().min(0).max(PANOS_MAX_TIMEOUT).default(86_400),
  reason: z.string().max(2000).optional(),
});

/** Where a dry run shows the tag (the configured RIPOSTE_CONNECTOR_PANOS_TAG is not known to a dry run). */
export const TAG_PLACEHOLDER = "{RIPOSTE_CONNECTOR_PANOS_TAG}";

/** What guards check: the canonical address (a protected address in another spelling is still caught). */
export const resolveIp = async (
  client: PanosClient,
  { input }: { input: { ip: string } },
): Promise<ResolvedTarget> => ({
  id: input.ip,
  ips: [input.ip],
  detail: { ip: input.ip, tag: client.tag },
});

/** The one entry's result, or the coded error of the firewall's refusal. */
export function single(results: readonly UidEntryResult[], what: string): UidEntryResult {
  const r = results[0];
  if (!r) throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `PAN-OS ${what}: no result for the entry`);
  if (!r.ok)
    throw new RiposteError(
      "RIPOSTE_CONNECTOR_REJECTED",
      `PAN-OS ${what} of ${r.ip} refused: ${r.message ?? "no reason"}`,
    );
  return r;
}

export const blockIp = action({
  classification: "containment",
  // Registering again only renews the entry (PAN-OS answers "already exists, ignore").
  idempotent: true,
  reverse: "unblock_ip",
  description:
    "Register an IP or CIDR with the dynamic address group tag (User-ID API, no commit) for `timeout` seconds",
  input: BlockInput,
  resolve: resolveIp,
  run: async (client: PanosClient, { input, signal }) => {
    const r = single(await client.registerIps([{ ip: input.ip, timeout: input.timeout }], signal), "register");
    return { ip: r.ip, tag: r.tag, timeout: input.timeout, registered: true, already: r.already };
  },
  // Blocks of many decisions within the coalescing window: one register message (split by size if it must be),
  // each entry's own result or refusal.
  batch: {
    max: 500,
    run: async (client: PanosClient, items, signal) => {
      const results = await client.registerIps(
        items.map(({ input }) => ({ ip: input.ip, timeout: input.timeout })),
        signal,
      );
      return items.map(({ input }, i) => {
        try {
          const r = single(results.slice(i, i + 1), "register");
          return { ip: r.ip, tag: r.tag, timeout: input.timeout, registered: true, already: r.already };
        } catch (e) {
          return e as Error;
        }
      });
    },
  },
  preview: (input) => [uidRequest({ register: [{ ip: input.ip, tag: TAG_PLACEHOLDER, timeout: input.timeout }] })],
});
