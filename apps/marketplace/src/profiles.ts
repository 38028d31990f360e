import { Rng } from "./random";

export const PROFILES = ["healthy", "flaky", "hostile"] as const;
export type Profile = (typeof PROFILES)[number];

/** How often things go wrong. Rates are per simulated hour; probabilities per event. */
export interface FaultProfile {
  /** Share of hosts that fail boots often, and how often they do. */
  badHostShare: number;
  badHostBootFailure: number;
  /** Boot failure probability of the other hosts. */
  goodHostBootFailure: number;
  /** Share of hosts that drop offline now and then, and the rate while an instance runs there. */
  unstableHostShare: number;
  offlinePerHour: number;
  /** Simulated seconds an offline host stays away (uniform). */
  offlineMinS: number;
  offlineMaxS: number;
  /** Rate at which another renter outbids a running interruptible instance. */
  outbidPerHour: number;
  /** Probability another renter grabs the GPUs the moment an instance stops (start then queues). */
  gpuTakenOnStop: number;
  /** Simulated seconds such a renter keeps them (uniform). */
  gpuTakenMinS: number;
  gpuTakenMaxS: number;
  /** Rate of SSH connection drops per running instance. */
  sshDropPerHour: number;
  /** Probability of a 429 or a 5xx answer on any /api request. */
  rate429: number;
  rate5xx: number;
  /** Probability that a create succeeds but its answer is lost (504), vast-api.md §3.13. */
  lostCreateReply: number;
}

export const FAULT_PROFILES: Readonly<Record<Profile, FaultProfile>> = {
  healthy: {
    badHostShare: 0,
    badHostBootFailure: 0,
    goodHostBootFailure: 0,
    unstableHostShare: 0,
    offlinePerHour: 0,
    offlineMinS: 60,
    offlineMaxS: 600,
    outbidPerHour: 0,
    gpuTakenOnStop: 0,
    gpuTakenMinS: 60,
    gpuTakenMaxS: 300,
    sshDropPerHour: 0,
    rate429: 0,
    rate5xx: 0,
    lostCreateReply: 0,
  },
  flaky: {
    badHostShare: 0.3,
    badHostBootFailure: 0.6,
    goodHostBootFailure: 0.03,
    unstableHostShare: 0.1,
    offlinePerHour: 1,
    offlineMinS: 60,
    offlineMaxS: 600,
    outbidPerHour: 0.5,
    gpuTakenOnStop: 0.2,
    gpuTakenMinS: 60,
    gpuTakenMaxS: 300,
    sshDropPerHour: 0.5,
    rate429: 0.05,
    rate5xx: 0.02,
    lostCreateReply: 0,
  },
  hostile: {
    badHostShare: 0.5,
    badHostBootFailure: 0.8,
    goodHostBootFailure: 0.1,
    unstableHostShare: 0.25,
    offlinePerHour: 3,
    offlineMinS: 120,
    offlineMaxS: 1200,
    outbidPerHour: 2,
    gpuTakenOnStop: 0.5,
    gpuTakenMinS: 120,
    gpuTakenMaxS: 900,
    sshDropPerHour: 3,
    rate429: 0.15,
    rate5xx: 0.07,
    lostCreateReply: 0.05,
  },
};

/** Per-host fault traits, drawn from the seed (independent of the market draw). */
export interface HostFaults {
  bootFailure: number;
  offlinePerHour: number;
}

export function hostFaults(seed: number, profile: FaultProfile, machineId: number): HostFaults {
  const rng = Rng.derive(seed, "host-faults", machineId);
  const bad = rng.chance(profile.badHostShare);
  const unstable = rng.chance(profile.unstableHostShare);
  return {
    bootFailure: bad ? profile.badHostBootFailure : profile.goodHostBootFailure,
    offlinePerHour: unstable ? profile.offlinePerHour : 0,
  };
}

export function isProfile(value: string): value is Profile {
  return (PROFILES as readonly string[]).includes(value);
}
