import { InvalidArgumentError } from "commander";

/** Parses --hours: whole hours ≥ 1. */
export function hours(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected whole hours ≥ 1, got ${value}`);
  return n;
}
