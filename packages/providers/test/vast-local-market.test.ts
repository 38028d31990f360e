import { tmpdir } from "node:os";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { startMarketplace } from "@dumont/marketplace";
import { VastProvider } from "@dumont/providers";
import { runProviderContract } from "./provider-contract";
import { SimControl } from "./sim-control";

// The Vast.ai client against the local marketplace, over real HTTP and real SSH.
runProviderContract({
  name: "vast.ai client → local marketplace",
  bootTimeoutMs: 20_000,
  create: async () => {
    const market = await startMarketplace({
      dataDir: mkdtempSync(join(tmpdir(), "contract-market-")),
      seed: 7,
      profile: "healthy",
      timeScale: 0.02,
    });
    return {
      provider: new VastProvider({
        baseUrl: market.url,
        apiKey: market.apiKey,
        simulated: true,
        backoffMs: 50,
        confirmPollMs: 100,
      }),
      sim: new SimControl(market.url, market.apiKey),
      close: () => market.close(),
    };
  },
});
