/**
 * `send_mail`: tell a recipient, from RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER's mailbox (`POST
 * /v1.0/users/{sender}/sendMail`, 202). Not idempotent: a resent call is a second mail.
 */
import { RiposteError } from "../../../shared/errors.ts";
import { action } from "../types.ts";
import { SendInput } from "./mail.ts";
import { GRAPH_REQUESTS, SENDER_PLACEHOLDER, type GraphClient } from "./transport.ts";

export const sendMail = action({
  classification: "notify",
  idempotent: false,
  description: "Send a plain-text mail to a recipient from the configured sender mailbox",
  input: SendInput,
  run: async (client: GraphClient, { input, signal }) => {
    if (!client.sender)
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        "Graph send_mail: set RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER to the mailbox notifications are sent from (the app needs Mail.Send)",
      );
    await client.api.call(
      GRAPH_REQUESTS.sendMail(client.sender, input.to, input.subject, input.text),
      signal,
      "send_mail",
    );
    return { from: client.sender, to: input.to, sent: true };
  },
  preview: (input) => [GRAPH_REQUESTS.sendMail(SENDER_PLACEHOLDER, input.to, input.subject, input.text)],
});
