/** The Graph connector's mail actions against the Graph fake, through the executor (retries, audit records). */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET, ENTRA_TENANT } from "../../../../test/fakes/entra.ts";
import { graphError, startGraphFake, type GraphFake } from "../../../../test/fakes/graph.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";

const PHISH = "<CAF=phish.0001@mail.example.net>";
const HOSTILE = "<x' or internetMessageId ne 'y@evil.example>";
const SENDER = "soc-notify@contoso.com";

const msg = (id: string, internetMessageId = PHISH) => ({
  id,
  internetMessageId,
  subject: "Invoice overdue",
  parentFolderId: "inbox",
});

describe("graph connector: mail", () => {
  let fake: GraphFake;
  before(async () => {
    fake = await startGraphFake([]);
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.routeFaults.clear();
    fake.forbidden.clear();
    fake.sent.length = 0;
    fake.pageSize = 10;
    fake.mailboxes.clear();
    fake.mailboxes.set("alice@contoso.com", [msg("AAMkAD/alice+1="), msg("AAMkAD-other", "<other@x>")]);
    fake.mailboxes.set("bob@contoso.com", [msg("AAMkAD-bob-1"), msg("AAMkAD-bob-2"), msg("AAMkAD-bob-3")]);
    fake.mailboxes.set("carol@contoso.com", [msg("AAMkAD-carol-1"), msg("AAMkAD-carol-h", HOSTILE)]);
    fake.mailboxes.set(SENDER, []);
  });

  const config = (over: Record<string, string> = {}) => ({
    graph: live(fake.url, {
      tenant_id: ENTRA_TENANT,
      client_id: ENTRA_CLIENT_ID,
      client_secret: ENTRA_CLIENT_SECRET,
      auth_url: fake.url,
      mail_sender: SENDER,
      ...over,
    }),
  });
  /** Step params come from the decision's params (templates render whole values, lists included). */
  const via = (params: Record<string, unknown>) =>
    Object.fromEntries(Object.keys(params).map((k) => [k, `{{params.${k}}}`]));
  const run = (action: string, params: Record<string, unknown>, opts: { over?: object; creds?: object } = {}) =>
    runDecisions({
      playbook: playbookOf("graph-mail", [{ id: "s", connector: "graph", action, params: via(params), ...opts.over }]),
      decisions: [decisionFor("graph-mail", { type: "email", value: "alice@contoso.com" }, params)],
      connectorConfig: config(opts.creds as Record<string, string>),
    });

  test("find_message searches each recipient's mailbox by Internet Message-ID, following every page", async () => {
    fake.pageSize = 2;
    const [a] = await run("find_message", {
      message_id: PHISH,
      recipients: [
        "alice@contoso.com",
        "Bob@contoso.com",
        "bob@contoso.com",
        "carol@contoso.com",
        "ext@partner.example",
      ],
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "enrich");
    assert.deepEqual(a?.response?.["copies"], [
      { mailbox: "alice@contoso.com", message_id: "AAMkAD/alice+1=" },
      { mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-1" },
      { mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-2" },
      { mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-3" },
      { mailbox: "carol@contoso.com", message_id: "AAMkAD-carol-1" },
    ]);
    assert.deepEqual(a?.response?.["no_mailbox"], ["ext@partner.example"]);
    const searches = fake.messageSearches();
    assert.equal(searches.length, 5, "alice, bob (2 pages), carol, ext: each mailbox once");
    assert.equal(searches[0]?.query.get("$filter"), `internetMessageId eq '${PHISH}'`);
    assert.equal(
      fake.requests.find((r) => r.path.endsWith("/messages"))?.path,
      "/v1.0/users/alice%40contoso.com/messages",
    );
  });

  test("a hostile Message-ID stays one OData literal: its quotes are doubled and it matches only itself", async () => {
    const [a] = await run("find_message", { message_id: HOSTILE, recipients: ["carol@contoso.com"] });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(a?.response?.["copies"], [{ mailbox: "carol@contoso.com", message_id: "AAMkAD-carol-h" }]);
    assert.equal(
      fake.messageSearches()[0]?.query.get("$filter"),
      "internetMessageId eq '<x'' or internetMessageId ne ''y@evil.example>'",
    );
  });

  test("a next page link outside the configured API is not followed (the token would go with it)", async () => {
    fake.routeFaults.add({
      path: /\/messages$/,
      reply: {
        status: 200,
        body: {
          value: [msg("AAMkAD-x")],
          "@odata.nextLink": "https://graph.evil.example/v1.0/users/a/messages?$skiptoken=1",
        },
      },
    });
    const [a] = await run("find_message", { message_id: PHISH, recipients: ["alice@contoso.com"] });
    assert.equal(a?.status, "failed");
    assert.match(a?.error?.message ?? "", /not under the configured API URL/);
  });

  test("purge_message moves every copy to Recoverable Items; again, each copy is already gone (404)", async () => {
    const copies = [
      { mailbox: "alice@contoso.com", message_id: "AAMkAD/alice+1=" },
      { mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-1" },
    ];
    const [a] = await run("purge_message", { copies });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "containment");
    assert.deepEqual(
      fake.purges().map((r) => `${r.method} ${r.path} ${r.body}`),
      [
        'POST /v1.0/users/alice%40contoso.com/messages/AAMkAD%2Falice%2B1%3D/move {"destinationId":"recoverableitemsdeletions"}',
        'POST /v1.0/users/bob%40contoso.com/messages/AAMkAD-bob-1/move {"destinationId":"recoverableitemsdeletions"}',
      ],
    );
    assert.equal(a?.response?.["removed"], 2);
    assert.equal((a?.response?.["copies"] as Array<{ new_id?: string }>)[0]?.new_id, "AAMkAD/alice+1=-moved-1");
    assert.equal(fake.mailboxes.get("alice@contoso.com")?.[0]?.parentFolderId, "recoverableitemsdeletions");
    fake.requests.length = 0;
    const [b] = await run("purge_message", { copies });
    assert.equal(b?.status, "succeeded", JSON.stringify(b));
    assert.equal(b?.response?.["already_gone"], 2);
    assert.equal(fake.purges().length, 2, "one call per copy");
  });

  test("restore_message moves purged copies back to the inbox with purge's new ids; again, nothing there", async () => {
    const [purged] = await run("purge_message", {
      copies: [{ mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-1" }],
    });
    const newId = (purged?.response?.["copies"] as Array<{ new_id: string }>)[0]?.new_id ?? "";
    fake.requests.length = 0;
    const copies = [{ mailbox: "bob@contoso.com", message_id: newId }];
    const [a] = await run("restore_message", { copies });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(
      fake.requests.filter((r) => r.path.endsWith("/move")).map((r) => `${r.path} ${r.body}`),
      [`/v1.0/users/bob%40contoso.com/messages/${newId}/move {"destinationId":"inbox"}`],
    );
    assert.equal(fake.mailboxes.get("bob@contoso.com")?.[0]?.parentFolderId, "inbox");
    const [b] = await run("restore_message", { copies });
    assert.equal((b?.response?.["copies"] as Array<{ result: string }>)[0]?.result, "not_there");
  });

  test("purge_message permanent: permanentDelete with no body, 204", async () => {
    const [a] = await run("purge_message", {
      copies: [{ mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-2" }],
      mode: "permanent",
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(
      fake.purges().map((r) => `${r.method} ${r.path} ${r.body}`),
      ["POST /v1.0/users/bob%40contoso.com/messages/AAMkAD-bob-2/permanentDelete "],
    );
    assert.equal(fake.mailboxes.get("bob@contoso.com")?.length, 2);
  });

  test("one mailbox refused (403) does not stop the others; the failure names it and is not retried", async () => {
    fake.forbidden.add("alice@contoso.com");
    const [a] = await run("purge_message", {
      copies: [
        { mailbox: "alice@contoso.com", message_id: "AAMkAD/alice+1=" },
        { mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-1" },
      ],
    });
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(
      a?.error?.message ?? "",
      /1 of 2 copies not removed \(1 done\): alice@contoso\.com: .*ErrorAccessDenied/,
    );
    assert.equal(fake.purges().length, 2);
    assert.equal(fake.mailboxes.get("bob@contoso.com")?.[0]?.parentFolderId, "recoverableitemsdeletions");
  });

  test("429 on one copy: the retry purges what is left and counts the rest as gone; each copy moved once", async () => {
    fake.routeFaults.add({
      path: /AAMkAD-bob-1\/move$/,
      reply: {
        ...graphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
        headers: { "retry-after": "1" },
      },
    });
    const copies = [
      { mailbox: "alice@contoso.com", message_id: "AAMkAD/alice+1=" },
      { mailbox: "bob@contoso.com", message_id: "AAMkAD-bob-1" },
    ];
    const [a] = await run("purge_message", { copies });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 2);
    assert.deepEqual(
      (a?.response?.["copies"] as Array<{ result: string }>).map((c) => c.result),
      ["already_gone", "moved"],
    );
    assert.equal(fake.mailboxes.get("alice@contoso.com")?.filter((m) => m.id.includes("-moved-")).length, 1);
  });

  test("5xx and a malformed page on find_message are retried", async () => {
    fake.routeFaults.add({ path: /\/messages$/, reply: graphError(504, "GatewayTimeout", "timeout") });
    fake.routeFaults.add({
      path: /\/messages$/,
      reply: { status: 200, body: "<html>", headers: { "content-type": "text/html" } },
    });
    const [a] = await run("find_message", { message_id: PHISH, recipients: ["alice@contoso.com"] });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.attempts, 3);
    assert.equal(a?.response?.["count"], 1);
  });

  test("send_mail sends plain text from the configured sender (202), once", async () => {
    const [a] = await run("send_mail", {
      to: "alice@contoso.com",
      subject: "We removed a phishing mail",
      text: "A message <b>Invoice overdue</b> was removed from your mailbox.",
    });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.classification, "notify");
    assert.equal(fake.sent.length, 1);
    assert.equal(fake.sent[0]?.sender, SENDER);
    assert.deepEqual(fake.sent[0]?.body, {
      message: {
        subject: "We removed a phishing mail",
        body: { contentType: "Text", content: "A message <b>Invoice overdue</b> was removed from your mailbox." },
        toRecipients: [{ emailAddress: { address: "alice@contoso.com" } }],
      },
      saveToSentItems: true,
    });
  });

  test("send_mail is not retried after a timeout (a resend would be a second mail)", async () => {
    fake.routeFaults.add({ path: /\/sendMail$/, actedThenDelayMs: 1_500 });
    const [a] = await run(
      "send_mail",
      { to: "bob@contoso.com", subject: "s", text: "t" },
      { over: { timeout: "300ms", retry: { max: 3, backoff: "10ms" } } },
    );
    assert.equal(a?.status, "failed");
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_TIMEOUT");
    assert.equal(fake.requests.filter((r) => r.path.endsWith("/sendMail")).length, 1);
  });

  test("send_mail without _MAIL_SENDER fails and says which variable to set; nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: playbookOf("graph-mail", [
        { id: "s", connector: "graph", action: "send_mail", params: { to: "a@contoso.com", subject: "s", text: "t" } },
      ]),
      decisions: [decisionFor("graph-mail", { type: "email", value: "a@contoso.com" })],
      connectorConfig: {
        graph: live(fake.url, {
          tenant_id: ENTRA_TENANT,
          client_id: ENTRA_CLIENT_ID,
          client_secret: ENTRA_CLIENT_SECRET,
          auth_url: fake.url,
        }),
      },
    });
    assert.equal(a?.status, "failed");
    assert.match(a?.error?.message ?? "", /RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER/);
    assert.equal(fake.requests.length, 0);
  });

  test("dry run: find, purge and send name their exact requests", async () => {
    const dry = { graph: { url: undefined, credentials: {}, dryRun: true } };
    const one = async (action: string, params: Record<string, unknown>) =>
      (
        await runDecisions({
          playbook: playbookOf("graph-mail", [{ id: "s", connector: "graph", action, params: via(params) }]),
          decisions: [decisionFor("graph-mail", { type: "email", value: "a@contoso.com" }, params)],
          connectorConfig: dry,
        })
      )[0]?.response?.["would_send"];
    assert.deepEqual(await one("find_message", { message_id: "<a'b@x>", recipients: ["a@contoso.com"] }), [
      {
        method: "GET",
        path: "/v1.0/users/a%40contoso.com/messages?$filter=internetMessageId%20eq%20%27%3Ca%27%27b%40x%3E%27&$select=id%2CinternetMessageId%2Csubject%2CparentFolderId&$top=100",
      },
    ]);
    assert.deepEqual(
      await one("purge_message", { copies: [{ mailbox: "a@contoso.com", message_id: "AA/1" }], mode: "permanent" }),
      [{ method: "POST", path: "/v1.0/users/a%40contoso.com/messages/AA%2F1/permanentDelete" }],
    );
    assert.deepEqual(await one("send_mail", { to: "a@contoso.com", subject: "s", text: "t" }), [
      {
        method: "POST",
        path: "/v1.0/users/<RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER>/sendMail",
        body: {
          message: {
            subject: "s",
            body: { contentType: "Text", content: "t" },
            toRecipients: [{ emailAddress: { address: "a@contoso.com" } }],
          },
          saveToSentItems: true,
        },
      },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
