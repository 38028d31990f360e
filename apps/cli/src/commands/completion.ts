import type { Command } from "commander";
import { CliError, type CliRuntime } from "../cli-runtime";

/** One command of the tree: its path (`instance create`), what it takes next, and its flags. */
interface Node {
  path: string;
  description: string;
  subcommands: { name: string; description: string }[];
  flags: { flag: string; description: string }[];
}

/** Walks commander's tree, so the scripts list exactly the commands and flags that exist. */
function walk(command: Command, prefix: string, globals: Node["flags"], out: Node[]): Node[] {
  const flags = [
    ...globals,
    ...command.options.flatMap((o) => (o.long ? [{ flag: o.long, description: o.description }] : [])),
    { flag: "--help", description: "show help" },
  ];
  const children = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  out.push({
    path: prefix,
    description: command.description(),
    subcommands: children.map((c) => ({ name: c.name(), description: c.description() })),
    flags: [...new Map(flags.map((f) => [f.flag, f])).values()],
  });
  for (const child of children) walk(child, prefix ? `${prefix} ${child.name()}` : child.name(), globals, out);
  return out;
}

function words(node: Node): string {
  return [...node.subcommands.map((s) => s.name), ...node.flags.map((f) => f.flag)].join(" ");
}

/**
 * The shells find the command path the same way: each word (not a flag) that extends the path to
 * another known command does so; other words are arguments (ids, key=values) and are skipped.
 */
function bash(nodes: Node[]): string {
  const cases = nodes.map((n) => `    "${n.path}") opts="${words(n)}" ;;`).join("\n");
  return `# dumont completion for bash: source <(dumont completion bash)
_dumont() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmds="|${nodes.map((n) => n.path).join("|")}|" cmdpath="" next w i opts
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    next="\${cmdpath:+$cmdpath }$w"
    [[ $cmds == *"|$next|"* ]] && cmdpath=$next
  done
  case "$cmdpath" in
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _dumont dumont
`;
}

function zsh(nodes: Node[]): string {
  const cases = nodes.map((n) => `    "${n.path}") opts=(${words(n)}) ;;`).join("\n");
  return `#compdef dumont
# dumont completion for zsh: source <(dumont completion zsh)
_dumont() {
  local cmds="|${nodes.map((n) => n.path).join("|")}|" cmdpath="" next w i
  local -a opts
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ $w == -* ]] && continue
    next="\${cmdpath:+$cmdpath }$w"
    [[ $cmds == *"|$next|"* ]] && cmdpath=$next
  done
  case "$cmdpath" in
${cases}
    *) opts=() ;;
  esac
  compadd -- $opts
}
if (( $+functions[compdef] )); then compdef _dumont dumont; fi
`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function fish(nodes: Node[]): string {
  const lines = [
    "# dumont completion for fish: dumont completion fish | source",
    "function __dumont_path",
    `    set -l cmds ${nodes
      .filter((n) => n.path)
      .map((n) => fishQuote(n.path))
      .join(" ")}`,
    '    set -l p ""',
    "    for w in (commandline -opc)[2..-1]",
    "        string match -q -- '-*' $w; and continue",
    '        set -l next (string trim -- "$p $w")',
    "        contains -- $next $cmds; and set p $next",
    "    end",
    '    echo "$p"',
    "end",
    "function __dumont_at",
    "    set -l p (__dumont_path)",
    '    test "$p" = "$argv[1]"',
    "end",
    "complete -c dumont -f",
  ];
  for (const n of nodes) {
    const at = `-n ${fishQuote(`__dumont_at ${fishQuote(n.path)}`)}`;
    for (const s of n.subcommands) lines.push(`complete -c dumont ${at} -a ${s.name} -d ${fishQuote(s.description)}`);
    for (const f of n.flags)
      lines.push(`complete -c dumont ${at} -l ${f.flag.replace(/^--/, "")} -d ${fishQuote(f.description)}`);
  }
  return lines.join("\n") + "\n";
}

const SHELLS = { bash, zsh, fish } as const;

/** `dumont completion bash|zsh|fish`: a completion script generated from the command tree. */
export function registerCompletion(program: Command, cli: CliRuntime): void {
  program
    .command("completion")
    .description("print a shell completion script: source <(dumont completion bash), or zsh, or fish")
    .argument("<shell>", "bash | zsh | fish")
    .action(
      cli.action((shell: string) => {
        const generate = SHELLS[shell as keyof typeof SHELLS] as ((nodes: Node[]) => string) | undefined;
        if (!Object.hasOwn(SHELLS, shell) || !generate)
          throw new CliError(`no completion for the shell "${shell}"`, "Use bash, zsh or fish.", "USAGE");
        // The program's own options apply to every command, except --version (the program's alone).
        const globals = program.options.flatMap((o) =>
          o.long && o.long !== "--version" ? [{ flag: o.long, description: o.description }] : [],
        );
        const nodes = walk(program, "", globals, []);
        process.stdout.write(generate(nodes));
        return Promise.resolve();
      }),
    );
}
