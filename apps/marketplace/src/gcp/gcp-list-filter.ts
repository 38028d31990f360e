/**
 * @module The `filter` parameter of Compute's list calls: the subset the standby provider sends
 * (`labels.KEY = "VALUE"`), with `name` and `status`, `!=`, and several terms ANDed.
 */
import { invalid } from "./gcp-errors";
import { statusOf, type GcpVm } from "./gcp-vm";

interface Term {
  field: string;
  negated: boolean;
  value: string;
}

/** One term: `(field op value)`, parentheses optional, then an optional `AND`. */
const TERM =
  /^\s*\(?\s*(labels\.[A-Za-z0-9_-]+|name|status)\s*(!=|=)\s*("(?:[^"\\]|\\.)*"|[^\s()"]+)\s*\)?\s*(?:AND(?=\s|\()\s*)?/i;

/** A predicate over VMs; an empty or absent filter keeps every VM. Throws 400 `invalid` otherwise. */
export function parseListFilter(filter: string | undefined): (vm: GcpVm) => boolean {
  const terms: Term[] = [];
  let rest = (filter ?? "").trim();
  while (rest !== "") {
    const match = TERM.exec(rest);
    if (!match?.[1] || !match[2] || match[3] === undefined) {
      throw invalid(`Invalid value for field 'filter': '${filter ?? ""}'. Invalid list filter expression.`);
    }
    const raw = match[3];
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    terms.push({ field: match[1], negated: match[2] === "!=", value });
    rest = rest.slice(match[0].length).trim();
  }
  return (vm) => terms.every((term) => matches(vm, term) !== term.negated);
}

function matches(vm: GcpVm, term: Term): boolean {
  if (term.field.toLowerCase() === "name") return vm.name === term.value;
  if (term.field.toLowerCase() === "status") return statusOf(vm.phase) === term.value;
  return vm.labels[term.field.slice("labels.".length)] === term.value;
}
