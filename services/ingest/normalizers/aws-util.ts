/** Helpers shared by the AWS normalizers (GuardDuty, Security Hub ASFF). Pure. */

const TACTICS: Record<string, readonly [string, string]> = {
  reconnaissance: ["TA0043", "Reconnaissance"],
  recon: ["TA0043", "Reconnaissance"],
  resourcedevelopment: ["TA0042", "Resource Development"],
  initialaccess: ["TA0001", "Initial Access"],
  execution: ["TA0002", "Execution"],
  persistence: ["TA0003", "Persistence"],
  privilegeescalation: ["TA0004", "Privilege Escalation"],
  defenseevasion: ["TA0005", "Defense Evasion"],
  stealth: ["TA0005", "Defense Evasion"],
  credentialaccess: ["TA0006", "Credential Access"],
  discovery: ["TA0007", "Discovery"],
  lateralmovement: ["TA0008", "Lateral Movement"],
  collection: ["TA0009", "Collection"],
  exfiltration: ["TA0010", "Exfiltration"],
  commandandcontrol: ["TA0011", "Command and Control"],
  impact: ["TA0040", "Impact"],
};

/** The MITRE ATT&CK tactic named by a word such as `PrivilegeEscalation`, `Privilege Escalation` or GuardDuty's `Recon`. */
export function mitreTactic(word: string | undefined): { uid: string; name: string } | undefined {
  const t = word ? TACTICS[word.replace(/[\s_-]/g, "").toLowerCase()] : undefined;
  return t ? { uid: t[0], name: t[1] } : undefined;
}

/** OCSF severity_id from an AWS 0–10 severity (GuardDuty; ASFF Normalized / 10): 9+ critical, 7+ high, 4+ medium, 1+ low. */
export function awsSeverity(score: number): number {
  if (score >= 9) return 5;
  if (score >= 7) return 4;
  if (score >= 4) return 3;
  if (score >= 1) return 2;
  return 1;
}

/** A hash with its algorithm guessed from its length, or undefined when it is not hex. */
export function hashOf(value: unknown): { algorithm: string; value: string } | undefined {
  if (typeof value !== "string" || !/^[0-9a-f]+$/i.test(value)) return undefined;
  const algorithm = { 32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512" }[value.length];
  return algorithm ? { algorithm, value } : undefined;
}

/** The last path segment of a file path. */
export function baseName(path: string | undefined): string | undefined {
  return path?.split(/[\\/]/).pop() || undefined;
}

/** A copy with every object key's first letter lower-cased (AWS SDK PascalCase → the camelCase of the service JSON). */
export function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k.charAt(0).toLowerCase() + k.slice(1),
      camelKeys(x),
    ]),
  );
}
