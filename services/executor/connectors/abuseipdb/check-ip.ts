/** `check_ip`: an IP's AbuseIPDB report summary (read-only). */
import { isIP } from "node:net";
import { z } from "zod";
import { canonicalIp } from "../../protected.ts";
import { action } from "../types.ts";
import { checkRequest, type AbuseIpdbClient } from "./transport.ts";

export const CheckIpInput = z.strictObject({
  ip: z
    .string()
    .trim()
    .max(64)
    .refine((s) => isIP(s) !== 0, "an IP address")
    .transform((s) => canonicalIp(s) ?? s),
  /** How far back reports count (1-365 days). */
  max_age_days: z.coerce.number().int().min(1).max(365).default(90),
});

export const checkIp = action({
  classification: "enrich",
  idempotent: true,
  description:
    "Check an IP in AbuseIPDB: abuseConfidenceScore (0-100), totalReports, countryCode, isWhitelisted (reports of the last 90 days)",
  input: CheckIpInput,
  run: async (client: AbuseIpdbClient, { input, signal }) => client.check(input.ip, input.max_age_days, signal),
  preview: (input) => [checkRequest(input.ip, input.max_age_days)],
});
