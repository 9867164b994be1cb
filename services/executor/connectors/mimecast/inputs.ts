/** The Mimecast actions' inputs (a sender address or domain, a URL) and what guards check before a block. */
import { z } from "zod";
import type { ResolvedTarget } from "../types.ts";

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** A sender address (`phish@bad.example`) or a whole sending domain (`bad.example`), lower-cased. */
export const Sender = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => {
    const at = s.lastIndexOf("@");
    return at < 0 ? DOMAIN.test(s) : at > 0 && !/[\s"<>]/.test(s.slice(0, at)) && DOMAIN.test(s.slice(at + 1));
  }, "a sender address or domain");

export const SenderInput = z.strictObject({ sender: Sender, reason: z.string().max(2000).optional() });

export const UrlInput = z.strictObject({
  url: z
    .string()
    .trim()
    .max(2048)
    .refine((u) => /^https?:\/\/[^\s]+$/i.test(u) && URL.canParse(u), "an http(s) URL"),
  /** explicit: this URL only; domain: every URL on its domain. */
  match: z.enum(["explicit", "domain"]).default("explicit"),
  reason: z.string().max(2000).optional(),
});

/** The policy description: why, clipped to what the console shows. */
export const describe = (what: string, reason: string | undefined) =>
  `Riposte: ${what}${reason ? ` (${reason})` : ""}`.slice(0, 200);

/** A sender as guards see it: the address as a user, its domain as a host (never block the company's own). */
export function senderTarget(sender: string): ResolvedTarget {
  const domain = sender.slice(sender.lastIndexOf("@") + 1);
  return { id: sender, ...(sender.includes("@") ? { users: [sender] } : {}), hosts: [domain], detail: { sender } };
}
