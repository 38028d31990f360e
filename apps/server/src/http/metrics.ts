import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics, one registry per server instance (tests run several in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "dumont_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "dumont_http_requests_total",
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: "dumont_http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["method", "route"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    transitions: new Counter({
      name: "dumont_controller_transitions_total",
      help: "Status transitions written by controllers",
      labelNames: ["resource", "to"] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "dumont_controller_reconcile_errors_total",
      help: "Reconcile steps that threw (retried with backoff)",
      labelNames: ["resource"] as const,
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: "dumont_controller_reconcile_duration_seconds",
      help: "Duration of one reconcile step",
      labelNames: ["resource"] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
