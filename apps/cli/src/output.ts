/** Plain, aligned tables: the CLI's one way to show lists. */
export function formatTable(headers: string[], rows: (string | number | boolean | null | undefined)[][]): string {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join("\n");
}

/** `key: value` lines, keys aligned. */
export function formatFields(fields: Record<string, string | number | boolean | null | undefined>): string {
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  return Object.entries(fields)
    .map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${v === null || v === undefined ? "-" : String(v)}`)
    .join("\n");
}
