import { loadConfig, type AppConfig } from '../config/config';
import { startSandbox, type Sandbox } from '../sandbox/sandbox';
import { sandboxConfig } from '../sandbox/sandbox-config';
import { TwilioCalls } from '../twilio/twilio-calls';
import { createTwilioClient } from '../twilio/twilio-client';
import { UpstreamMetrics } from '../upstream/upstream-metrics';
import { TwilioTaskSource } from './twilio-task.source';

/** The adapter through real twilio-node against the sandbox's TaskRouter (ETag, If-Match, 412). */
describe(TwilioTaskSource.name, () => {
  let sandbox: Sandbox;
  let config: AppConfig;
  let tasks: TwilioTaskSource;

  beforeAll(async () => {
    sandbox = await startSandbox({ quiet: true, customers: 6 });
    config = sandboxConfig(loadConfig({ UPSTREAM_RETRIES: '0' }), sandbox);
    tasks = new TwilioTaskSource(config, new TwilioCalls(config, createTwilioClient(config), new UpstreamMetrics()));
  });
  afterAll(() => sandbox.close());

  const newTask = async (attributes: Record<string, unknown>) => {
    const created = await createTwilioClient(config)
      .client.taskrouter.v1.workspaces(config.twilio.workspaceSid)
      .tasks.create({ attributes: JSON.stringify(attributes) });
    return created.sid;
  };

  it('reads attributes and the ETag, and writes with If-Match', async () => {
    const sid = await newTask({ a: 1 });
    const read = await tasks.task(sid);
    expect(read).toMatchObject({ sid, attributes: { a: 1 }, etag: '0' });

    const update = await tasks.updateAttributes(sid, { a: 1, b: 2 }, read!.etag!);
    expect(update).toMatchObject({ ok: true, task: { attributes: { a: 1, b: 2 }, etag: '1' } });
    expect(sandbox.data.task(sid)?.updates.map((u) => u.ifMatch)).toEqual(['0']);
  });

  it('answers stale, and writes nothing, when the task changed since the ETag was read', async () => {
    const sid = await newTask({ a: 1 });
    await tasks.updateAttributes(sid, { a: 2 }, '0');

    expect(await tasks.updateAttributes(sid, { a: 3 }, '0')).toEqual({ ok: false, reason: 'stale' });
    expect(sandbox.data.task(sid)?.attributes).toEqual({ a: 2 });
  });

  it('answers null for a task that does not exist or a malformed sid', async () => {
    const missing = `WT${'0'.repeat(32)}`;
    expect(await tasks.task(missing)).toBeNull();
    expect(await tasks.updateAttributes(missing, {}, '0')).toBeNull();
    expect(await tasks.updateAttributes('nope', {}, '0')).toBeNull();
  });

  it('turns a 5xx into an upstream error', async () => {
    const sid = await newTask({});
    sandbox.faults.add({ service: 'twilio', route: 'task_update', status: 500, times: 1 });
    await expect(tasks.updateAttributes(sid, {}, '0')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });
});
