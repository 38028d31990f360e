import { describe, expect, it } from "vitest";
import { VastProvider, countriesFor, generateSshKeyPair, sshExec } from "@dumont/providers";
import { waitForState } from "../test/provider-contract";

/**
 * Against real Vast.ai (VAST_API_KEY): rent the cheapest machine under the test preset, run a
 * command over SSH, destroy it and confirm it is gone. Costs a few cents; never part of `npm test`.
 */
describe("live: Vast.ai", () => {
  it("rents, runs a command over SSH, and destroys the cheapest test machine", async () => {
    const provider = new VastProvider({
      baseUrl: process.env.DUMONT_VAST_URL ?? "https://console.vast.ai",
      apiKey: process.env.VAST_API_KEY,
      simulated: false,
    });
    const keys = generateSshKeyPair("dumont-live-test");
    const offers = await provider.searchOffers({
      machineType: "on-demand",
      maxPricePerHour: 0.1,
      countries: countriesFor("US,EU,BR,CA"),
      minReliability: 0.9,
      limit: 5,
      order: "price",
    });
    expect(offers.length).toBeGreaterThan(0);
    let machineId: string | undefined;
    for (const offer of offers) {
      try {
        ({ machineId } = await provider.createMachine({
          offerId: offer.id,
          image: "vastai/base-image:@vastai-automatic-tag",
          diskGb: 10,
          label: `dumont:live-test-${Date.now()}`,
          sshPublicKeys: [keys.publicKey],
        }));
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "OFFER_UNAVAILABLE") throw error;
      }
    }
    if (!machineId) throw new Error("every offer was taken");
    try {
      const machine = await waitForState(provider, machineId, ["running"], 100_000);
      if (!machine?.ssh) throw new Error("no SSH endpoint");
      const result = await sshExec({ endpoint: machine.ssh, privateKey: keys.privateKey, command: "echo live-ok" });
      expect(result.stdout.trim()).toBe("live-ok");
    } finally {
      await provider.destroyMachine(machineId);
    }
    expect(await provider.getMachine(machineId)).toBeUndefined();
  }, 120_000);
});
