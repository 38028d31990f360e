import type { Logger } from "pino";
import type { ControlledStore, JobsRepository, TransitionChange } from "@dumont/db";
import type { ControllerRunner } from "./controller-runner";

/**
 * Some rows' next step waits on another row's status: a deployment on its candidates (a winner
 * to verify, a loser whose destruction cleanup waits for), a job on its deployment (a winner to
 * set up, a cleanup to finish) and on its machine (lost, or confirmed destroyed). When this process commits such a status change, the waiting row
 * is made due at once instead of at its next poll; polling stays as the fallback (and covers
 * changes made by other replicas).
 */
export function wakeDependents(options: {
  store: ControlledStore;
  runner: ControllerRunner;
  jobs: JobsRepository;
  logger: Logger;
}): void {
  const { store, runner, jobs, logger } = options;
  const nudge = async (change: TransitionChange) => {
    if (change.table === "instances") {
      const deploymentId = change.row.deployment_id;
      if (typeof deploymentId === "string") await runner.nudge("deployments", deploymentId);
      for (const id of await jobs.onInstance(change.id)) await runner.nudge("jobs", id);
    } else if (change.table === "deployments") {
      for (const id of await jobs.waitingOnDeployment(change.id)) await runner.nudge("jobs", id);
    }
  };
  store.onTransition((change) => {
    // Only a speed-up: if it fails, the waiting row's own poll finds the change.
    nudge(change).catch((error: unknown) => logger.warn({ err: error }, "could not wake a dependent row"));
  });
}
