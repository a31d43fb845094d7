import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

/**
 * Node's own metrics (CPU, memory, GC, event-loop lag) describe the process, not an application
 * instance, and collecting them starts timers and a GC observer that are never stopped: they are
 * collected once per process and shared by every registry built here (tests build many apps).
 */
let processMetrics: Registry | undefined;

/** The service's one registry: process metrics plus whatever its modules register. */
export function createRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  const registry = new Registry();
  for (const { name } of processMetrics.getMetricsAsArray()) registry.registerMetric(processMetrics.getSingleMetric(name) as Metric);
  return registry;
}
