/** The Graph mail actions' inputs: an Internet Message-ID, mailboxes, and the copies find_message returns. */
import { z } from "zod";

/** A mailbox address (a user's primary SMTP address or userPrincipalName). */
export const Mailbox = z
  .string()
  .trim()
  .max(320)
  .regex(/^[^\s@/\\]+@[^\s@/\\]+$/, "a mailbox address (user@domain)");

/**
 * An Internet Message-ID as the header carries it (`<local@domain>`). Any printable text is accepted: the value is
 * an OData string literal (quotes doubled) and percent-encoded, so it cannot change the filter.
 */
export const InternetMessageId = z
  .string()
  .trim()
  .min(3)
  .max(998)
  // eslint-disable-next-line no-control-regex -- control characters have no place in a header value
  .regex(/^[^\x00-\x1f\x7f]+$/, "a Message-ID without control characters");

export const FindInput = z.strictObject({
  message_id: InternetMessageId,
  /** The recipients whose mailboxes are searched: a list, or one text of addresses separated by commas. */
  recipients: z.preprocess(
    (v) => (typeof v === "string" ? v.split(/[,;\s]+/).filter((s) => s !== "") : v),
    z.array(Mailbox).min(1).max(500),
  ),
});

export const PurgeInput = z.strictObject({
  /** The copies to remove, as find_message returned them; one copy alone (a for_each item) is a list of one. */
  copies: z.preprocess(
    (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? [v] : v),
    z
      .array(z.strictObject({ mailbox: Mailbox, message_id: z.string().min(1).max(1024) }))
      .min(1)
      .max(1000),
  ),
  /** recoverable: moved to Recoverable Items (an admin can move it back); permanent: deleted for good. */
  mode: z.enum(["recoverable", "permanent"]).default("recoverable"),
  reason: z.string().max(2000).optional(),
});

export const SendInput = z.strictObject({
  to: Mailbox,
  subject: z.string().trim().min(1).max(255),
  /** Plain text (sent as Text, never HTML). */
  text: z.string().min(1).max(20_000),
});

export const RestoreInput = z.strictObject({
  /** The copies to move back: purge_message's results, each with the id it got in Recoverable Items. */
  copies: z
    .array(z.strictObject({ mailbox: Mailbox, message_id: z.string().min(1).max(1024) }))
    .min(1)
    .max(1000),
  /** Where they go: a well-known folder name (inbox) or a folder id. */
  folder: z
    .string()
    .regex(/^[A-Za-z0-9_=+/-]{1,512}$/, "a folder name or id")
    .default("inbox"),
  reason: z.string().max(2000).optional(),
});
