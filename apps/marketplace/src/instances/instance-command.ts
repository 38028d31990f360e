/** The programs Vast's execute endpoint runs (vast-api.md §3.1 #14): list, remove, disk usage. */
export const EXECUTE_PROGRAMS = ["ls", "rm", "du"] as const;
export const MAX_COMMAND_CHARS = 512;

export type ParsedCommand = { ok: true; argv: string[] } | { ok: false; reason: string };

/**
 * Splits an execute command into argv the way a shell splits words (spaces; '…' and "…" quotes;
 * backslash escapes), but runs no shell: `;`, `|`, `$(…)` and globs are plain characters, so only
 * `ls`, `rm` or `du` itself ever runs, as Vast constrains it. Anything else is refused.
 */
export function parseExecuteCommand(command: string): ParsedCommand {
  if (command.length > MAX_COMMAND_CHARS) {
    return { ok: false, reason: `command is ${command.length} characters; the limit is ${MAX_COMMAND_CHARS}.` };
  }
  const argv: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command.charAt(i);
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < command.length) word = (word ?? "") + command.charAt(++i);
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < command.length) {
      word = (word ?? "") + command.charAt(++i);
    } else if (/\s/.test(c)) {
      if (word !== undefined) argv.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote) return { ok: false, reason: "command has an unterminated quote." };
  if (word !== undefined) argv.push(word);
  const program = argv[0];
  if (program === undefined) return { ok: false, reason: "command is empty." };
  if (!(EXECUTE_PROGRAMS as readonly string[]).includes(program)) {
    return {
      ok: false,
      reason: `"${program}" is not allowed: execute runs only ${EXECUTE_PROGRAMS.join(", ")} (use SSH for anything else).`,
    };
  }
  if (argv.some((arg) => arg.includes("\0"))) return { ok: false, reason: "command contains a NUL byte." };
  return { ok: true, argv };
}
