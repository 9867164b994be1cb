import { test } from "node:test";
import assert from "node:assert/strict";
import { wazuh, wazuhLevelSeverity } from "./wazuh.ts";
import { corpusEvents, json, normalizeWith, otherVendors } from "./testing.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";

const DIR = "wazuh/wazuh5-sample-findings-";
const FILES = {
  guardduty: `${DIR}aws_findings_guardduty.ndjson`,
  azure: `${DIR}azure_findings.ndjson`,
  fim: `${DIR}fim_findings.ndjson`,
  okta: `${DIR}threat-hunting_findings_okta.ndjson`,
  system: `${DIR}threat-hunting_findings_system.ndjson`,
  windows: `${DIR}threat-hunting_findings_windows.ndjson`,
  vd: `${DIR}vulnerability-detection_findings.ndjson`,
} as const;

function sample(file: keyof typeof FILES, i: number): NormalizedEvent {
  const ev = corpusEvents(FILES[file])[i];
  assert.ok(ev, `${file}[${i}] exists`);
  return normalizeWith(wazuh, json(ev));
}

const title = (e: NormalizedEvent) => (e.class_uid === 2004 ? e.finding_info.title : undefined);

test("wazuh: every finding of the 7 corpus files is detected and normalizes, with distinct fingerprints", () => {
  const fps = new Set<string>();
  let n = 0;
  for (const file of Object.values(FILES)) {
    for (const ev of corpusEvents(file)) {
      assert.ok(wazuh.detect(json(ev)), `${file} detected`);
      const e = normalizeWith(wazuh, json(ev));
      assert.equal(e.class_uid, 2004);
      assert.equal(e.metadata.product.vendor_name, "Wazuh");
      assert.ok(e.class_uid === 2004 && (e.finding_info.attacks?.length ?? 0) > 0, `${file}: ATT&CK mapped`);
      fps.add(e.riposte.fingerprint);
      n++;
    }
  }
  assert.equal(n, 69);
  assert.equal(fps.size, 69);
});

test("wazuh: FIM finding: the agent's host, the file and its hashes", () => {
  const e = sample("fim", 0);
  assert.equal(title(e), "FIM: file modified detected on /etc/passwd");
  assert.equal(e.severity_id, 1);
  assert.equal(e.time, Date.parse("2026-07-06T12:14:18Z"));
  assert.equal(e.device?.hostname, "wazuh-endpoint-linux");
  assert.equal(e.device?.ip, "192.168.1.2");
  assert.equal(e.riposte.entity_key, "host:wazuh-endpoint-linux");
  assert.ok(e.class_uid === 2004);
  const file = e.evidences?.[0]?.file;
  assert.equal(file?.path, "/etc/passwd");
  assert.ok(file?.hashes?.some((h) => h.algorithm === "SHA-256" && h.value.startsWith("df8c34fb")));
  assert.equal(e.metadata.event_code, "net-006");
});

test("wazuh: Windows Kerberos finding: host, user, source IP and port", () => {
  const e = sample("windows", 7);
  assert.equal(title(e), "Hunting alert triggered on kerberos-service-ticket-requested (Windows events)");
  assert.equal(e.severity_id, 4);
  assert.equal(e.time, Date.parse("2026-07-06T12:45:08Z"));
  assert.equal(e.device?.hostname, "DC01.contoso.local");
  assert.equal(e.user?.name, "dadmin@CONTOSO.LOCAL");
  assert.deepEqual(e.src_endpoint, { ip: "::ffff:10.0.0.12", port: 49272 });
  assert.equal(e.riposte.entity_key, "host:dc01.contoso.local");
  assert.equal(e.unmapped?.["event_code"], "4769");
});

test("wazuh: system auth finding: host from host.hostname, not the agent", () => {
  const e = sample("system", 0);
  assert.equal(title(e), "Threat hunting: suspicious ssh_login detected in system logs");
  assert.equal(e.severity_id, 3);
  assert.equal(e.device?.hostname, "server01");
  assert.equal(e.user?.name, "user01");
  assert.deepEqual(e.src_endpoint, { ip: "192.168.1.2", port: 63673 });
  assert.ok(e.class_uid === 2004 && e.evidences?.[0]?.process?.name === "sshd");
});

test("wazuh: cloud and identity findings have no device hostname (the agent is only a collector)", () => {
  const okta = sample("okta", 0);
  assert.equal(title(okta), "Anomalous user.session.end behavior observed in Okta");
  assert.equal(okta.severity_id, 5);
  assert.equal(okta.device?.hostname, undefined);
  assert.equal(okta.user?.email_addr, "john.doe@acmecorp.com");
  assert.equal(okta.src_endpoint?.ip, "175.16.199.1");
  assert.equal(okta.riposte.entity_key, "user:john.doe@acmecorp.com");
  assert.equal(okta.metadata.correlation_uid, "faf7398a-4f77-11ea-97fb-5925e98228bd");

  const gd = sample("guardduty", 1);
  assert.equal(title(gd), "GuardDuty finding: KUBERNETES_API_CALL anomaly observed");
  assert.equal(gd.severity_id, 5);
  assert.equal(gd.device?.hostname, undefined);
  assert.equal(gd.user?.name, "system:anonymous");
  assert.equal(gd.src_endpoint?.ip, "175.16.199.1");
  assert.equal(gd.unmapped?.["source_rule"], "Persistence:Kubernetes/SuccessfulAnonymousAccess");
  assert.equal(sample("guardduty", 0).device?.uid, "i-0a1b2c3d4e5f67890");

  const az = sample("azure", 0);
  assert.equal(az.severity_id, 1);
  assert.equal(az.src_endpoint?.ip, "2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6");
  assert.equal(az.user?.name, "bob.martinez");
  assert.ok(az.class_uid === 2004 && az.finding_info.attacks?.some((a) => a.technique?.uid === "T1098"));
});

test("wazuh: vulnerability finding keeps the CVE", () => {
  const e = sample("vd", 1);
  assert.equal(title(e), "Unexpected CVE-2018-25032 in zlib1g reported by Vulnerability detection");
  assert.equal(e.severity_id, 4);
  assert.equal(e.device?.hostname, "wazuh-endpoint-linux");
  assert.deepEqual(e.unmapped?.["vulnerability"], { id: "CVE-2018-25032", severity: "High", score: 7.5 });
});

const classic = {
  timestamp: "2026-03-02T08:15:42.118+0000",
  rule: {
    level: 10,
    description: "sshd: brute force trying to get access to the system. Non existent user.",
    id: "5712",
    mitre: { id: ["T1110"], tactic: ["Credential Access"], technique: ["Brute Force"] },
    firedtimes: 2,
    groups: ["syslog", "sshd", "authentication_failures"],
  },
  agent: { id: "004", name: "web-07", ip: "10.1.2.7" },
  manager: { name: "wazuh-mgr" },
  id: "1772439342.8812",
  full_log: "Mar  2 08:15:41 web-07 sshd[811]: Invalid user deploy from 192.0.2.50 port 40112",
  decoder: { parent: "sshd", name: "sshd" },
  data: { srcip: "192.0.2.50", srcport: "40112", srcuser: "deploy" },
  location: "/var/log/auth.log",
};

test("wazuh: a classic 4.x alert maps rule.level, agent, data.srcip and rule.mitre", () => {
  assert.ok(wazuh.detect(json(classic)));
  const e = normalizeWith(wazuh, json(classic));
  assert.equal(title(e), "sshd: brute force trying to get access to the system. Non existent user.");
  assert.equal(e.severity_id, 3);
  assert.equal(e.time, Date.parse("2026-03-02T08:15:42.118Z"));
  assert.deepEqual(e.device, { hostname: "web-07", ip: "10.1.2.7", uid: "004" });
  assert.equal(e.user?.name, "deploy");
  assert.deepEqual(e.src_endpoint, { ip: "192.0.2.50", port: 40112 });
  assert.equal(e.metadata.uid, "1772439342.8812");
  assert.ok(e.class_uid === 2004);
  assert.deepEqual(e.finding_info.attacks, [
    { technique: { uid: "T1110", name: "Brute Force" }, tactic: { name: "Credential Access" } },
  ]);
  assert.deepEqual([0, 3, 4, 7, 12, 15].map(wazuhLevelSeverity), [1, 1, 2, 3, 4, 5]);
});

test("wazuh: 5.x events without a rule are Base Events; bad times fall back; malformed alerts are clear errors; other vendors are not claimed", () => {
  const r = normalizeWith(
    wazuh,
    json({
      "@timestamp": "2026-01-01T00:00:00Z",
      wazuh: { agent: { id: "001", name: "web-01" } },
      event: { action: "user-login", dataset: "system.auth" },
      user: { name: "root" },
      source: { ip: "192.0.2.9" },
    }),
  );
  assert.equal(r.class_uid, 0);
  assert.equal(r.metadata.event_code, "user-login");
  assert.equal(r.device?.hostname, "web-01");
  assert.equal(r.riposte.entity_key, "user:root");
  assert.equal(r.time, Date.parse("2026-01-01T00:00:00Z"));
  assert.equal(normalizeWith(wazuh, json({ ...classic, timestamp: "soon" })).riposte.time_fallback, true);
  assert.throws(
    () => wazuh.normalize(json({ "@timestamp": "2026-01-01T00:00:00Z", wazuh: { rule: { id: "x" } } })),
    /without wazuh.rule.title/,
  );
  for (const other of otherVendors("wazuh")) assert.equal(wazuh.detect(json(other)), false);
});
