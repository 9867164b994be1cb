/** Configuration accepts the ticketing, firewall and threat-intel connectors' variables, by their exact names. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONNECTORS } from "../executor/connectors/index.ts";
import { loadConfig } from "./config.ts";

const VARIABLES: Record<string, Record<string, string>> = {
  panos: { URL: "https://fw.example", API_KEY: "LUFRPT1key==", TAG: "riposte-block" },
  jira: { URL: "https://acme.atlassian.net", EMAIL: "soc@example.com", API_TOKEN: "ATATT-token", PROJECT: "SEC" },
  servicenow: { URL: "https://acme.service-now.com", USERNAME: "riposte", PASSWORD: "pw-0123456789" },
  virustotal: { URL: "https://www.virustotal.com", API_KEY: "vt-key" },
  abuseipdb: { URL: "https://api.abuseipdb.com", API_KEY: "abuse-key" },
  misp: { URL: "https://misp.example", API_KEY: "misp-key" },
  tenable: { URL: "https://cloud.tenable.com", ACCESS_KEY: "access", SECRET_KEY: "secret" },
};

const envOf = (name: string, vars: Record<string, string>) =>
  Object.fromEntries(Object.entries(vars).map(([k, v]) => [`RIPOSTE_CONNECTOR_${name.toUpperCase()}_${k}`, v]));

test("each connector is live with its URL and exactly its variables, credentials passed by name", () => {
  const env = Object.assign({}, ...Object.entries(VARIABLES).map(([n, v]) => envOf(n, v))) as Record<string, string>;
  const config = loadConfig(env, CONNECTORS);
  for (const [name, vars] of Object.entries(VARIABLES)) {
    const c = config.connectors[name];
    assert.equal(c?.dryRun, false, name);
    assert.equal(c?.url, vars["URL"]);
    const { URL: _url, ...creds } = vars;
    assert.deepEqual(
      c?.credentials,
      Object.fromEntries(Object.entries(creds).map(([k, v]) => [k.toLowerCase(), v])),
      name,
    );
  }
});

test("a URL without one of its variables is refused, naming the missing variable; no URL is a dry run", () => {
  for (const [name, vars] of Object.entries(VARIABLES)) {
    for (const missing of Object.keys(vars).filter((k) => k !== "URL")) {
      const { [missing]: _gone, ...rest } = vars;
      assert.throws(
        () => loadConfig(envOf(name, rest), CONNECTORS),
        new RegExp(
          `RIPOSTE_CONNECTOR_${name.toUpperCase()}_URL is set but RIPOSTE_CONNECTOR_${name.toUpperCase()}_${missing} is not`,
        ),
      );
    }
    assert.equal(loadConfig({}, CONNECTORS).connectors[name]?.dryRun, true, name);
  }
});
