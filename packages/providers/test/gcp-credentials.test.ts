import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GOOGLE_TOKEN_URI, loadGcpCredentials, parseGcpServiceAccount } from "@dumont/providers";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();

function account(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "service_account",
    project_id: "dumont-sim",
    private_key_id: "0123abcd",
    private_key: PEM,
    client_email: "dumont-standby@dumont-sim.iam.gserviceaccount.com",
    client_id: "1234567890",
    token_uri: "http://127.0.0.1:9/gcp/token",
    ...overrides,
  };
}

async function rejection(run: () => unknown): Promise<{ code?: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error("expected a rejection");
}

describe("GCP service account credentials", () => {
  it("reads a key file's JSON", () => {
    const parsed = parseGcpServiceAccount(JSON.stringify(account()));
    expect(parsed).toMatchObject({ project_id: "dumont-sim", private_key_id: "0123abcd" });
    expect(parsed.token_uri).toBe("http://127.0.0.1:9/gcp/token");
  });

  it("defaults token_uri to Google's", () => {
    const { token_uri: _, ...rest } = account();
    expect(parseGcpServiceAccount(JSON.stringify(rest)).token_uri).toBe(GOOGLE_TOKEN_URI);
  });

  it("names the missing field", async () => {
    const { private_key_id: _, ...rest } = account();
    const error = await rejection(() => parseGcpServiceAccount(JSON.stringify(rest)));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain("missing field private_key_id");
  });

  it("names a wrong field without echoing the private key", async () => {
    const error = await rejection(() =>
      parseGcpServiceAccount(JSON.stringify(account({ type: "authorized_user", client_email: PEM }))),
    );
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain("field type");
    expect(error.message).not.toContain("PRIVATE KEY");
    expect(error.message).not.toContain(PEM.split("\n")[1]);
  });

  it("says broken JSON is broken without quoting it", async () => {
    const broken = JSON.stringify(account()).replace('"type"', "type");
    const error = await rejection(() => parseGcpServiceAccount(broken));
    expect(error).toMatchObject({ code: "VALIDATION_FAILED", message: "the GCP credentials are not valid JSON" });
    expect(JSON.stringify(error)).not.toContain("PRIVATE");
    expect((error as Error).cause).toBeUndefined();
  });

  it("GCP_CREDENTIALS holds the JSON itself or a path to it", async () => {
    const json = JSON.stringify(account());
    expect(loadGcpCredentials(`  ${json}\n`)).toBe(json);
    const dir = mkdtempSync(join(tmpdir(), "gcp-creds-"));
    writeFileSync(join(dir, "key.json"), json);
    expect(loadGcpCredentials(join(dir, "key.json"))).toBe(json);
    const missing = await rejection(() => loadGcpCredentials(join(dir, "nope.json")));
    expect(missing).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(missing.message).toContain("nope.json");
    expect(await rejection(() => loadGcpCredentials(dir))).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(await rejection(() => loadGcpCredentials(" "))).toMatchObject({ code: "VALIDATION_FAILED" });
  });
});
