import type { AppConfig } from '../../config/config';
import type { TaskSnapshot, TaskSource, TaskUpdate } from '../../tasks/task.source';
import type { CustomerContextService } from '../../context/customer-context.service';
import type { ConsentService } from '../../consent/consent.service';
import { CustomerRouting, type CustomerFacts } from '../customer-routing.service';
import { parseRulesFile } from '../rules';
import { RoutingService } from '../routing.service';
import type { TrackingService } from '../../tracking/tracking.service';
import { TaskEnricher } from './task-enricher';

const SID = `WT${'a'.repeat(32)}`;
const RULES = parseRulesFile(`
defaults: { vip: false }
rules:
  - name: vip
    when: '"vip" in audiences'
    set: { vip: true }
insights:
  name: 'has(traits.name) ? traits.name : ""'
`);

/** A TaskRouter task with optimistic locking, and a hook to change it under the enricher. */
class FakeTasks implements TaskSource {
  version = 0;
  writes: Array<{ attributes: Record<string, unknown>; etag: string }> = [];
  beforeWrite: (() => void) | null = null;

  constructor(public attributes: Record<string, unknown> | null) {}

  async task(taskSid: string): Promise<TaskSnapshot | null> {
    if (!this.attributes || taskSid !== SID) return null;
    return { sid: taskSid, attributes: structuredClone(this.attributes), etag: String(this.version), assignmentStatus: 'pending', taskChannel: 'default' };
  }

  async updateAttributes(_taskSid: string, attributes: Record<string, unknown>, etag: string): Promise<TaskUpdate | null> {
    this.beforeWrite?.();
    this.writes.push({ attributes, etag });
    if (etag !== String(this.version)) return { ok: false, reason: 'stale' };
    this.attributes = attributes;
    this.version += 1;
    return { ok: true, task: (await this.task(SID)) as TaskSnapshot };
  }

  async openTasks(): Promise<TaskSnapshot[]> {
    return [];
  }

  /** Someone else's write, without If-Match. */
  foreignWrite(change: Record<string, unknown>): void {
    this.attributes = { ...this.attributes, ...change };
    this.version += 1;
  }
}

function enricherWith(tasks: FakeTasks, facts: Partial<CustomerFacts> | 'never' = {}) {
  const router = new RoutingService({ routing: {} } as AppConfig);
  Object.assign(router, { rules: RULES });
  // The real CustomerRouting (its deadline included); only the read of the customer is stubbed.
  const routing = new CustomerRouting({} as CustomerContextService, router, {} as ConsentService);
  const factsFor = jest
    .spyOn(routing, 'factsFor')
    .mockImplementation(async () =>
      facts === 'never' ? new Promise<CustomerFacts>(() => undefined) : { traits: {}, audiences: [], signals: null, failures: [], customer: null, ...facts },
    );
  const config = { enrichment: { jobDeadlineMs: 50 } } as AppConfig;
  const tracked: Array<{ event: string; properties: unknown }> = [];
  const tracking = {
    taskEnriched: (enrichment: unknown) => tracked.push({ event: 'Task Enriched', properties: enrichment }),
    routingRulesMatched: (matches: unknown) => tracked.push({ event: 'Routing Rule Matched', properties: matches }),
  } as unknown as TrackingService;
  return { enricher: new TaskEnricher(config, tasks, router, routing, tracking), factsFor, tracked };
}

describe(TaskEnricher.name, () => {
  it('tells the data team what it stamped: one Task Enriched and one Routing Rule Matched per rule', async () => {
    const tasks = new FakeTasks({ from: '+15555550100' });
    const { enricher, tracked } = enricherWith(tasks, { audiences: ['vip'], traits: { name: 'Ada' } });
    await enricher.enrich(SID);
    expect(tracked.map((t) => t.event)).toEqual(['Task Enriched', 'Routing Rule Matched']);
    expect(tracked[0].properties).toMatchObject({ taskSid: SID, matchedRules: ['vip'], degradedReasons: [] });
  });

  it('writes our namespace and customers.* with If-Match, keeping every other attribute', async () => {
    const tasks = new FakeTasks({ from: '+15555550100', foreign: { deep: [1] }, customers: { external_id: 'x' } });
    const { enricher } = enricherWith(tasks, { audiences: ['vip'], traits: { name: 'Ada' } });

    const result = await enricher.enrich(SID);

    expect(result).toMatchObject({ kind: 'stamped', decision: { stamped: true, matchedRules: ['vip'] } });
    expect(tasks.writes).toEqual([
      {
        etag: '0',
        attributes: { from: '+15555550100', foreign: { deep: [1] }, customers: { external_id: 'x', name: 'Ada' }, customer_context: { vip: true } },
      },
    ]);
  });

  it('leaves a task that already carries the namespace alone', async () => {
    const tasks = new FakeTasks({ customer_context: { vip: true }, customers: { name: 'Ada' } });
    const { enricher, factsFor } = enricherWith(tasks);

    expect(await enricher.enrich(SID)).toEqual({ kind: 'already_stamped', attributes: { customer_context: { vip: true }, customers: { name: 'Ada' } } });
    expect(tasks.writes).toEqual([]);
    expect(factsFor).not.toHaveBeenCalled();
  });

  it('on 412 reads the task again and merges again, so the other write survives; the customer is read once', async () => {
    const tasks = new FakeTasks({ foreign: 'a' });
    tasks.beforeWrite = () => {
      tasks.beforeWrite = null;
      tasks.foreignWrite({ added: 'meanwhile' });
    };
    const { enricher, factsFor } = enricherWith(tasks);

    await enricher.enrich(SID);

    expect(tasks.writes.map((w) => w.etag)).toEqual(['0', '1']);
    expect(tasks.attributes).toEqual({ foreign: 'a', added: 'meanwhile', customers: { name: '' }, customer_context: { vip: false } });
    expect(factsFor).toHaveBeenCalledTimes(1);
  });

  it('stops when the other write stamped the task first', async () => {
    const tasks = new FakeTasks({});
    tasks.beforeWrite = () => {
      tasks.beforeWrite = null;
      tasks.foreignWrite({ customer_context: { by: 'someone else' } });
    };
    const { enricher } = enricherWith(tasks);

    expect(await enricher.enrich(SID)).toMatchObject({ kind: 'already_stamped' });
    expect(tasks.attributes).toEqual({ customer_context: { by: 'someone else' } });
  });

  it('gives up (for the queue to retry) when the task changes under every write', async () => {
    const tasks = new FakeTasks({});
    tasks.beforeWrite = () => tasks.foreignWrite({ churn: tasks.version });
    const { enricher } = enricherWith(tasks);

    await expect(enricher.enrich(SID)).rejects.toThrow(/changed under 5 writes/);
    expect(tasks.writes).toHaveLength(5);
  });

  it('stamps the defaults, degraded, when the customer is not known by the deadline', async () => {
    const tasks = new FakeTasks({ foreign: 'a' });
    const { enricher } = enricherWith(tasks, 'never');

    const result = await enricher.enrich(SID);

    expect(result).toMatchObject({ kind: 'stamped', decision: { degraded: true } });
    expect(tasks.attributes?.customer_context).toEqual({ vip: false, degraded: true, degraded_reason: 'customer data not ready by the deadline' });
  });

  it('writes nothing once aborted', async () => {
    const tasks = new FakeTasks({});
    const { enricher } = enricherWith(tasks);
    const abort = new AbortController();
    abort.abort();

    await expect(enricher.enrich(SID, abort.signal)).rejects.toThrow();
    expect(tasks.writes).toEqual([]);
  });

  it('answers task_not_found for a task that does not exist', async () => {
    const { enricher } = enricherWith(new FakeTasks(null));
    expect(await enricher.enrich(SID)).toEqual({ kind: 'task_not_found' });
  });
});
