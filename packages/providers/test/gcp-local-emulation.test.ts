import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMarketplace } from "@dumont/marketplace";
import { GcpComputeProvider } from "@dumont/providers";
import { describeStandbyProviderContract } from "./standby-provider-contract";

// The GCP Compute client against the local marketplace's emulated GCP project, over real HTTP
// (OAuth2 grant included) and real SSH into the emulated VMs.
describeStandbyProviderContract("gcp client → local marketplace's GCP emulation", async () => {
  const market = await startMarketplace({
    dataDir: mkdtempSync(join(tmpdir(), "standby-contract-market-")),
    seed: 11,
    profile: "healthy",
    timeScale: 0.02,
  });
  const { computeUrl, serviceAccountJson } = market.gcp;
  const provider = (credentialsJson: string) =>
    new GcpComputeProvider({ credentialsJson, computeUrl, simulated: true, operationPollMs: 100, backoffMs: 50 });
  return {
    provider: provider(serviceAccountJson),
    zone: "us-central1-a",
    machineType: "e2-micro",
    settleTimeoutMs: 30_000,
    withForeignKey: () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const account = JSON.parse(serviceAccountJson) as Record<string, unknown>;
      account.private_key = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      return provider(JSON.stringify(account));
    },
    failNextCreate: async (code) => {
      const response = await fetch(new URL("/sim/gcp/next-insert-error", market.url), {
        method: "POST",
        headers: { authorization: `Bearer ${market.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ code }),
      });
      if (!response.ok) throw new Error(`next-insert-error → ${response.status}: ${await response.text()}`);
    },
    close: () => market.close(),
  };
});
