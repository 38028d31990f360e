import { formatTable } from "../../output";

export interface EntryLike {
  provider: string;
  machine_id: string;
  blacklist_type: string;
  reason: string;
  blacklisted_at: string;
  expires_at: string | null;
  is_active: boolean;
  hidden: boolean;
}

export function entryTable(entries: EntryLike[]): string {
  if (entries.length === 0) return "The blacklist is empty.";
  return formatTable(
    ["provider", "host", "type", "reason", "since", "until", "active"],
    entries.map((e) => [
      e.provider,
      e.machine_id,
      e.blacklist_type,
      e.reason,
      e.blacklisted_at,
      e.expires_at ?? "permanent",
      e.is_active ? (e.hidden ? "hidden by you" : "yes") : "no",
    ]),
  );
}
