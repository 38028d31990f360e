import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { registerAccount, startInProcessServer, type Account, type InProcessServer } from "@dumont/testing";
import { expectError } from "./helpers";

const ATTACKER = "203.0.113.66";
const OWNER_HOME = "198.51.100.20";

/**
 * The attack: anyone who knows an email could send five wrong passwords and lock the real owner
 * out for 15 minutes. Now failures count per (account, address) with growing delays, so the
 * attacker slows only themselves; a cap per address still stops one address trying many accounts.
 */
describe("login throttling per (account, address) with growing delays", () => {
  let inproc: InProcessServer;
  let victim: Account;

  beforeAll(async () => {
    inproc = await startInProcessServer({
      startControllers: false,
      env: {
        DUMONT_LOGIN_MAX_FAILURES: "3",
        DUMONT_LOGIN_MAX_DELAY_S: "2",
        DUMONT_IP_MAX_ATTEMPTS: "12",
      },
    });
    victim = await registerAccount(inproc.app, "victim");
  });
  afterAll(async () => {
    await inproc?.close();
  });

  const login = (email: string, password: string, remoteAddress: string) =>
    inproc.app.inject({ method: "POST", url: "/api/v1/auth/login", remoteAddress, payload: { email, password } });
  const retryAfterOf = async (email: string, password: string, remoteAddress: string) => {
    const response = await login(email, password, remoteAddress);
    const error = expectError(response, 429, "RATE_LIMITED");
    expect(response.headers["retry-after"]).toBe(String(error.details.retry_after_seconds));
    return error.details.retry_after_seconds;
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("a stranger's wrong passwords do not lock the owner out from another address", async () => {
    for (let i = 0; i < 3; i += 1) {
      expectError(await login(victim.email, `guess ${i}`, ATTACKER), 401, "INVALID_CREDENTIALS");
    }
    // The attacker's address now waits, even with the right password …
    expect(await retryAfterOf(victim.email, victim.password, ATTACKER)).toBe(1);
    // … and the email's case does not get around it.
    expect(await retryAfterOf(victim.email.toUpperCase(), "guess again", ATTACKER)).toBe(1);
    // The owner, from their own address, is let straight in.
    const owner = await login(victim.email, victim.password, OWNER_HOME);
    expect(owner.statusCode).toBe(200);
    expect(owner.json<{ token: string }>().token).toMatch(/^dmt_/);
  });

  it("each further failure doubles the delay, up to DUMONT_LOGIN_MAX_DELAY_S", async () => {
    // The same account, from another address: that pair's streak starts from zero.
    const account = victim;
    const address = "203.0.113.77";
    for (let i = 0; i < 3; i += 1) {
      expectError(await login(account.email, `guess ${i}`, address), 401, "INVALID_CREDENTIALS");
    }
    expect(await retryAfterOf(account.email, "guess", address)).toBe(1);
    await sleep(1_100);
    expectError(await login(account.email, "guess 4", address), 401, "INVALID_CREDENTIALS");
    expect(await retryAfterOf(account.email, "guess", address)).toBe(2);
    await sleep(2_100);
    expectError(await login(account.email, "guess 5", address), 401, "INVALID_CREDENTIALS");
    // 4 s by doubling, capped at the configured 2 s.
    expect(await retryAfterOf(account.email, "guess", address)).toBe(2);
    await sleep(2_100);
    // Once the delay has passed the right password works and clears the streak.
    expect((await login(account.email, account.password, address)).statusCode).toBe(200);
    expectError(await login(account.email, "typo", address), 401, "INVALID_CREDENTIALS");
    expect((await login(account.email, account.password, address)).statusCode).toBe(200);
  });

  it("one address trying many accounts is capped across accounts (credential stuffing)", async () => {
    const stuffer = "203.0.113.99";
    const target = victim;
    // One wrong password per account never reaches a per-account delay; the address cap stops it.
    for (let n = 0; n < 12; n += 1) {
      const email = `stuffing-${n}-${Math.random().toString(36).slice(2)}@example.com`;
      expectError(await login(email, "password123", stuffer), 401, "INVALID_CREDENTIALS");
    }
    const retryAfter = await retryAfterOf(target.email, target.password, stuffer);
    expect(retryAfter).toBeGreaterThan(0);
    // The account itself is fine from anywhere else.
    expect((await login(target.email, target.password, OWNER_HOME)).statusCode).toBe(200);
  });
});
