import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../shared/config.ts";
import { domainOf, identityOf, providerOf } from "./identity.ts";

const settings = {
  domains: new Map([
    ["example.com", "okta"],
    ["eu.example.com", "entra"],
  ] as const),
  fallback: "okta" as const,
};
const user = (value: string) => ({ type: "user", value });

test("the idp param decides first: sign-in formats and connector names of either provider", () => {
  for (const idp of ["okta", "okta_system_log", "OKTA"]) assert.equal(providerOf(idp), "okta", idp);
  for (const idp of ["entra", "entra_signin", "microsoft_graph_alert", "graph", "azure_ad"])
    assert.equal(providerOf(idp), "entra", idp);
  for (const idp of [undefined, "", "suricata_eve", 3]) assert.equal(providerOf(idp), undefined, String(idp));
  assert.deepEqual(identityOf({ idp: "entra_signin" }, user("a@example.com"), settings), {
    provider: "entra",
    by: "param",
  });
});

test("then the user's domain, longest configured suffix first, then the default", () => {
  assert.equal(domainOf("Alice@EU.Example.com."), "eu.example.com");
  assert.equal(domainOf("CORP\\alice"), "corp");
  assert.equal(domainOf("alice"), undefined);
  assert.deepEqual(identityOf({}, user("alice@eu.example.com"), settings), {
    provider: "entra",
    by: "domain",
    domain: "eu.example.com",
  });
  assert.equal(identityOf({}, user("bob@dev.example.com"), settings).provider, "okta", "a subdomain of example.com");
  assert.deepEqual(identityOf({ idp: "suricata_eve" }, user("c@other.org"), { ...settings, fallback: "entra" }), {
    provider: "entra",
    by: "default",
    domain: "other.org",
  });
  assert.equal(identityOf({}, { type: "host", value: "x@example.com" }, settings).by, "default", "users only");
});

test("RIPOSTE_IDP_DOMAINS and RIPOSTE_IDP_DEFAULT are validated at start", () => {
  const c = loadConfig({
    RIPOSTE_IDP_DOMAINS: "Example.com:okta, corp.example.net.:entra",
    RIPOSTE_IDP_DEFAULT: "entra",
  });
  assert.deepEqual(
    [...c.identity.domains],
    [
      ["example.com", "okta"],
      ["corp.example.net", "entra"],
    ],
  );
  assert.equal(c.identity.fallback, "entra");
  assert.equal(loadConfig({}).identity.fallback, "okta");
  assert.throws(() => loadConfig({ RIPOSTE_IDP_DOMAINS: "example.com:ping" }), /domain:okta or domain:entra/);
  assert.throws(() => loadConfig({ RIPOSTE_IDP_DOMAINS: "a.com:okta,a.com:entra" }), /listed twice/);
  assert.throws(() => loadConfig({ RIPOSTE_IDP_DEFAULT: "ping" }), /RIPOSTE_IDP_DEFAULT/);
});
