/** MITRE ATT&CK helpers shared by the CrowdStrike, Microsoft Graph and Sentinel normalizers. */

/** Enterprise ATT&CK tactics: compact lower-case name → [id, caption]. */
const TACTICS: Record<string, readonly [string, string]> = {
  reconnaissance: ["TA0043", "Reconnaissance"],
  resourcedevelopment: ["TA0042", "Resource Development"],
  initialaccess: ["TA0001", "Initial Access"],
  execution: ["TA0002", "Execution"],
  persistence: ["TA0003", "Persistence"],
  privilegeescalation: ["TA0004", "Privilege Escalation"],
  defenseevasion: ["TA0005", "Defense Evasion"],
  credentialaccess: ["TA0006", "Credential Access"],
  discovery: ["TA0007", "Discovery"],
  lateralmovement: ["TA0008", "Lateral Movement"],
  collection: ["TA0009", "Collection"],
  commandandcontrol: ["TA0011", "Command and Control"],
  exfiltration: ["TA0010", "Exfiltration"],
  impact: ["TA0040", "Impact"],
};

/** An OCSF attack (tactic and/or technique), as the Attack schema takes it. */
export interface AttackRef {
  tactic?: { uid?: string | undefined; name?: string | undefined } | undefined;
  technique?: { uid?: string | undefined; name?: string | undefined } | undefined;
}

/** A tactic from a vendor spelling ("DefenseEvasion", "defense-evasion", "Defense Evasion"); unknown names are kept as they are. */
export function tacticOf(name: string, uid?: string): { uid?: string; name: string } {
  const known = TACTICS[name.toLowerCase().replace(/[^a-z]/g, "")];
  if (known) return { uid: uid ?? known[0], name: known[1] };
  return uid ? { uid, name } : { name };
}

/** True for an ATT&CK technique id such as T1059 or T1059.001. */
export function isTechniqueId(s: string): boolean {
  return /^T\d{4}(\.\d{3})?$/.test(s);
}

/**
 * OCSF attacks from a list of tactic names and technique ids: with one tactic it is attached to every technique;
 * otherwise techniques and tactics are listed separately (the vendor does not say which goes with which).
 */
export function attacksOf(tactics: readonly string[], techniques: readonly string[]): AttackRef[] {
  const tac = [...new Set(tactics.map((t) => t.trim()).filter((t) => t !== ""))].map((t) => tacticOf(t));
  const tech = [...new Set(techniques.map((t) => t.trim()).filter((t) => t !== ""))];
  if (tech.length === 0) return tac.map((tactic) => ({ tactic }));
  const only = tac.length === 1 ? tac[0] : undefined;
  const out: AttackRef[] = tech.map((uid) => (only ? { tactic: only, technique: { uid } } : { technique: { uid } }));
  if (!only) for (const tactic of tac) out.push({ tactic });
  return out;
}
