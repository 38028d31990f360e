import { describe, expect, it } from "vitest";
import {
  STANDBY_SOURCE_IMAGE,
  STANDBY_STARTUP_SCRIPT,
  buildInsertBody,
  labelFilter,
  standbyStateOf,
  toStandbyMachine,
  type StandbyMachineRequest,
} from "@dumont/providers";

const REQUEST: StandbyMachineRequest = {
  name: "standby-abc123",
  zone: "us-central1-a",
  machineType: "e2-medium",
  diskGb: 50,
  spot: true,
  labels: { "dumont-installation": "i-1", "dumont-resource": "sb_1" },
  sshPublicKeys: ["ssh-ed25519 AAAAC3Nza one", "  ssh-rsa AAAAB3Nza two\n"],
};

describe("GCP instance translation", () => {
  it("maps every status word GCP uses", () => {
    expect(standbyStateOf("PROVISIONING")).toBe("provisioning");
    expect(standbyStateOf("STAGING")).toBe("provisioning");
    expect(standbyStateOf("RUNNING")).toBe("running");
    expect(standbyStateOf("STOPPING")).toBe("stopping");
    expect(standbyStateOf("SUSPENDING")).toBe("stopping");
    expect(standbyStateOf("TERMINATED")).toBe("stopped");
    expect(standbyStateOf("SUSPENDED")).toBe("stopped");
    expect(standbyStateOf("STOPPED")).toBe("stopped");
    expect(standbyStateOf("REPAIRING")).toBe("repairing");
    expect(standbyStateOf("SOMETHING_NEW")).toBe("repairing");
  });

  it("builds a label filter, and refuses what could escape its quotes", () => {
    expect(labelFilter("dumont-installation", "i-1")).toBe('labels.dumont-installation="i-1"');
    expect(() => labelFilter("dumont", 'x" OR name="y')).toThrow(/not allowed/);
    expect(() => labelFilter("Upper", "x")).toThrow(/not allowed/);
    expect(() => labelFilter("k", "x".repeat(64))).toThrow(/not allowed/);
  });

  it("builds the insert body of the wire contract", () => {
    expect(buildInsertBody(REQUEST)).toEqual({
      name: "standby-abc123",
      machineType: "zones/us-central1-a/machineTypes/e2-medium",
      disks: [
        { boot: true, autoDelete: true, initializeParams: { diskSizeGb: "50", sourceImage: STANDBY_SOURCE_IMAGE } },
      ],
      networkInterfaces: [
        { network: "global/networks/default", accessConfigs: [{ type: "ONE_TO_ONE_NAT", name: "External NAT" }] },
      ],
      labels: { "dumont-installation": "i-1", "dumont-resource": "sb_1" },
      metadata: {
        items: [
          { key: "ssh-keys", value: "root:ssh-ed25519 AAAAC3Nza one\nroot:ssh-rsa AAAAB3Nza two" },
          { key: "startup-script", value: STANDBY_STARTUP_SCRIPT },
        ],
      },
      scheduling: { provisioningModel: "SPOT", instanceTerminationAction: "STOP" },
    });
    expect(buildInsertBody({ ...REQUEST, spot: false }).scheduling).toEqual({});
  });

  it("refuses requests GCP would refuse, or that would inject", () => {
    expect(() => buildInsertBody({ ...REQUEST, name: "Standby_1" })).toThrow(/instance name/);
    expect(() => buildInsertBody({ ...REQUEST, name: "a-" })).toThrow(/instance name/);
    expect(() => buildInsertBody({ ...REQUEST, zone: "../../x" })).toThrow(/zone/);
    expect(() => buildInsertBody({ ...REQUEST, machineType: "e2/medium" })).toThrow(/machine type/);
    expect(() => buildInsertBody({ ...REQUEST, diskGb: 5 })).toThrow(/diskGb/);
    expect(() => buildInsertBody({ ...REQUEST, diskGb: 10.5 })).toThrow(/diskGb/);
    expect(() => buildInsertBody({ ...REQUEST, sshPublicKeys: ["ssh-ed25519 A\nevil:ssh-rsa B"] })).toThrow(/lines/);
    expect(() => buildInsertBody({ ...REQUEST, labels: { "dumont-resource": "SB" } })).toThrow(/label value/);
  });

  it("reads an instance: state, zone, type, spot, labels and SSH", () => {
    const base = "http://127.0.0.1:1/compute/v1/projects/p/zones/us-east1-b";
    const instance = {
      name: "standby-abc123",
      zone: base,
      machineType: `${base}/machineTypes/e2-small`,
      status: "RUNNING",
      creationTimestamp: "2026-01-02T03:04:05.000-08:00",
      labels: { "dumont-resource": "sb_1" },
      scheduling: { provisioningModel: "SPOT" },
      networkInterfaces: [{ accessConfigs: [{ natIP: "10.77.0.1", sshPort: 22022 }] }],
    };
    expect(toStandbyMachine(instance, "fallback")).toEqual({
      name: "standby-abc123",
      zone: "us-east1-b",
      state: "running",
      rawStatus: "RUNNING",
      machineType: "e2-small",
      spot: true,
      labels: { "dumont-resource": "sb_1" },
      ssh: { host: "10.77.0.1", port: 22022, user: "root" },
      createdAt: Date.parse("2026-01-02T11:04:05Z"),
    });
    const real = { ...instance, networkInterfaces: [{ accessConfigs: [{ natIP: "34.1.2.3" }] }] };
    expect(toStandbyMachine(real, "x").ssh).toEqual({ host: "34.1.2.3", port: 22, user: "root" });
    const booting = { ...instance, status: "STAGING", networkInterfaces: [{ accessConfigs: [{}] }] };
    expect(toStandbyMachine(booting, "x")).toMatchObject({ state: "provisioning", ssh: null });
    const bare = { ...instance, zone: "", scheduling: {}, creationTimestamp: "not a date", networkInterfaces: [] };
    expect(toStandbyMachine(bare, "asia-east1-a")).toMatchObject({
      zone: "asia-east1-a",
      spot: false,
      createdAt: null,
      ssh: null,
    });
  });
});
