/** MITRE ATT&CK helpers shared by the CrowdStrike, Microsoft Graph, Sentinel, Wazuh and AWS normalizers. */

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

/** AWS words for a tactic that ATT&CK spells otherwise: GuardDuty's `Recon` and `Stealth` threat purposes. */
const AWS_ALIASES: Record<string, string> = { recon: "reconnaissance", stealth: "defenseevasion" };

/** An attack's tactic or technique. */
interface AttackPart {
  uid?: string | undefined;
  name?: string | undefined;
}

/** An OCSF attack (tactic and/or technique), as the Attack schema takes it. */
export interface AttackRef {
  tactic?: AttackPart | undefined;
  technique?: AttackPart | undefined;
}

/** A tactic from a vendor spelling ("DefenseEvasion", "defense-evasion", "Defense Evasion"); unknown names are kept as they are. */
export function tacticOf(name: string, uid?: string): { uid?: string; name: string } {
  const known = TACTICS[name.toLowerCase().replace(/[^a-z]/g, "")];
  if (known) return { uid: uid ?? known[0], name: known[1] };
  return uid ? { uid, name } : { name };
}

/**
 * The tactic named by an AWS word such as `PrivilegeEscalation`, `Privilege Escalation` or GuardDuty's `Recon`
 * (GuardDuty threat purposes, ASFF `TTPs/...` types); undefined when it names none. Stricter than `tacticOf`: only
 * spaces, `_` and `-` are dropped.
 */
export function awsTactic(word: string | undefined): { uid: string; name: string } | undefined {
  if (!word) return undefined;
  const key = word.replace(/[\s_-]/g, "").toLowerCase();
  const t = TACTICS[key] ?? TACTICS[AWS_ALIASES[key] ?? ""];
  return t ? { uid: t[0], name: t[1] } : undefined;
}

/** True for an ATT&CK technique id such as T1059 or T1059.001. */
export function isTechniqueId(s: string): boolean {
  return /^T\d{4}(\.\d{3})?$/.test(s);
}

/** OCSF attacks from a list of tactic names and technique ids (blanks and repeats dropped), paired by `pairAttacks`. */
export function attacksOf(tactics: readonly string[], techniques: readonly string[]): AttackRef[] {
  const tac = [...new Set(tactics.map((t) => t.trim()).filter((t) => t !== ""))].map((t) => tacticOf(t));
  const tech = [...new Set(techniques.map((t) => t.trim()).filter((t) => t !== ""))].map((uid) => ({ uid }));
  return pairAttacks(tac, tech);
}

/**
 * OCSF attacks from tactics and techniques the vendor lists apart: with one tactic it is attached to every technique;
 * otherwise the techniques come first, then the tactics, each on its own (which goes with which is not said).
 */
export function pairAttacks(tactics: readonly AttackPart[], techniques: readonly AttackPart[]): AttackRef[] {
  if (techniques.length === 0) return tactics.map((tactic) => ({ tactic }));
  const only = tactics.length === 1 ? tactics[0] : undefined;
  const out: AttackRef[] = techniques.map((technique) => (only ? { tactic: only, technique } : { technique }));
  if (!only) for (const tactic of tactics) out.push({ tactic });
  return out;
}
