import { describe, expect, it } from "vitest";
import { ResultStore, TooManyPendingResults } from "../src/instances/result-store";

/** Execute and logs results: one account can neither evict another's nor pile up work. */
describe("ResultStore", () => {
  it("limits each account's running results and evicts only that account's oldest", () => {
    const store = new ResultStore();
    const theirs = store.open("victim");
    store.complete(theirs, "victim's output");
    const mine: string[] = [];
    for (let i = 0; i < 4; i++) mine.push(store.open("attacker"));
    expect(() => store.open("attacker")).toThrow(TooManyPendingResults);
    for (const token of mine) store.complete(token, "x");
    for (let i = 0; i < 100; i++) store.complete(store.open("attacker"), `run ${i}`);
    expect(store.read(theirs)).toBe("victim's output");
    expect(store.read(mine[0] ?? "")).toBeUndefined();
  });

  it("keeps the total bounded, cutting each result to its tail", () => {
    const store = new ResultStore();
    const big = "y".repeat(5 * 1024 * 1024);
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      const token = store.open(`account-${i}`);
      store.complete(token, big);
      tokens.push(token);
    }
    const kept = tokens.map((t) => store.read(t)).filter((t) => t !== undefined);
    expect(kept.every((t) => t.length === 4 * 1024 * 1024)).toBe(true);
    expect(kept.length).toBeLessThanOrEqual(16);
    expect(store.read(tokens.at(-1) ?? "")).toBeDefined();
  });
});
