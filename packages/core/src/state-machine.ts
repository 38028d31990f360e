import { DumontError } from "./errors/dumont-error";

/**
 * A declared state machine: every status, which ones are terminal, and the allowed transitions.
 * Controllers never write a status that is not reachable from the current one; the store checks
 * `canTransition` inside the same transaction that writes the status and its event row.
 */
export interface StateMachine<TStatus extends string> {
  readonly name: string;
  readonly statuses: readonly TStatus[];
  readonly initial: TStatus;
  readonly terminal: readonly TStatus[];
  readonly transitions: Readonly<Record<TStatus, readonly TStatus[]>>;
}

export function defineStateMachine<const TStatus extends string>(
  machine: StateMachine<TStatus>,
): StateMachine<TStatus> {
  for (const status of machine.terminal) {
    if (machine.transitions[status].length > 0) {
      throw new Error(`${machine.name}: terminal status ${status} must have no outgoing transitions`);
    }
  }
  return machine;
}

export function isTerminal<TStatus extends string>(machine: StateMachine<TStatus>, status: TStatus): boolean {
  return machine.terminal.includes(status);
}

export function activeStatuses<TStatus extends string>(machine: StateMachine<TStatus>): TStatus[] {
  return machine.statuses.filter((s) => !machine.terminal.includes(s));
}

export function canTransition<TStatus extends string>(
  machine: StateMachine<TStatus>,
  from: TStatus,
  to: TStatus,
): boolean {
  return machine.transitions[from].includes(to);
}

export function assertTransition<TStatus extends string>(
  machine: StateMachine<TStatus>,
  from: TStatus,
  to: TStatus,
): void {
  if (!canTransition(machine, from, to)) {
    throw new DumontError({
      code: "INVALID_TRANSITION",
      message: `${machine.name} cannot go from ${from} to ${to}`,
      details: { from, to, allowed: machine.transitions[from] },
    });
  }
}

/** Renders the machine as a Mermaid diagram; ARCHITECTURE.md embeds the output and a test keeps it true. */
export function toMermaid<TStatus extends string>(machine: StateMachine<TStatus>): string {
  const lines = ["stateDiagram-v2", `    [*] --> ${machine.initial}`];
  for (const from of machine.statuses) {
    for (const to of machine.transitions[from]) lines.push(`    ${from} --> ${to}`);
  }
  for (const status of machine.terminal) lines.push(`    ${status} --> [*]`);
  return lines.join("\n");
}

/** Exhaustiveness guard for switches over statuses and codes: a new case fails to compile here. */
export function assertNever(value: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${String(value)}`);
}
