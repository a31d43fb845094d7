import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootLogger } from '../src/common/logging';
import { AuditSink } from '../src/pipeline/audit-sink';
import { startHarness, type Harness } from './support/harness';
import { eventually } from './support/twilio-callers';

/** The audit trail is its own sink: quieting the service's logs must not erase who read whose data. */
describe('audit trail (e2e)', () => {
  it('records every read with LOG_LEVEL=warn, without a single identifier in clear', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-audit-'));
    const file = join(dir, 'audit.log');
    const h = await startHarness({ redis: false, sandbox: { customers: 6 }, env: { LOG_LEVEL: 'warn', AUDIT_LOG_FILE: file } });
    try {
      const vip = h.sandbox.data.byArchetype('vip');
      const result = await h.gql(`query($phone: String!) { customerContext(lookup: {phone: $phone}) { profileId traits } }`, { phone: vip.phone });
      expect(result.errors).toBeUndefined();
      const text = await eventually(
        () => readFileSync(file, 'utf8'),
        (t) => t.includes('customer.read'),
      );
      const lines = text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({
          context: 'Audit',
          audit: 'customer.read',
          who: expect.objectContaining({ identity: h.sandbox.data.agents[0].identity }),
          whose: { profileId: vip.profileId },
          field: 'customerContext',
          outcome: 'read',
        }),
      );
      for (const value of [vip.phone!, vip.email!, String(vip.traits.name)]) expect(text).not.toContain(value);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** What the service writes to stdout (fd 1) while `run` runs, caught before it is written. */
  const catchingStdout = async (run: (written: string[]) => Promise<void>) => {
    const written: string[] = [];
    const text = (data: unknown) => (typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString('utf8'));
    const realWrite = fs.write;
    const realWriteSync = fs.writeSync;
    const write = jest.spyOn(fs, 'write').mockImplementation((fd: number, data: unknown, ...rest: unknown[]) => {
      if (fd !== 1) return (realWrite as (...args: unknown[]) => void)(fd, data, ...rest);
      written.push(text(data));
      process.nextTick(rest.at(-1) as (error: null, bytes: number) => void, null, Buffer.byteLength(text(data)));
    });
    const writeSync = jest.spyOn(fs, 'writeSync').mockImplementation((fd: number, data: unknown, ...rest: unknown[]) => {
      if (fd !== 1) return (realWriteSync as (...args: unknown[]) => number)(fd, data, ...rest);
      written.push(text(data));
      return Buffer.byteLength(text(data));
    });
    try {
      await run(written);
    } finally {
      write.mockRestore();
      writeSync.mockRestore();
    }
  };
  const READ = `query($phone: String!) { customerContext(lookup: {phone: $phone}) { profileId } }`;
  const ask = async (h: Harness, requestId: string, query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.sandbox.credentials.agentToken}`, 'x-request-id': requestId },
      body: JSON.stringify({ query, variables }),
    });
    expect(response.status).toBe(200);
    await response.text();
  };
  /** The JSON lines written so far, once the service's and the audit trail's buffers are flushed. */
  const linesOf = (h: Harness, written: string[]) => {
    h.app.get(AuditSink).flush();
    rootLogger(h.config).flush();
    return written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it('writes one line per answered read at info: the audit line carries the request line, the request id and every audit field', () =>
    catchingStdout(async (written) => {
      const h = await startHarness({ redis: false, sandbox: { customers: 6 }, env: { LOG_LEVEL: 'info', AUDIT_LOG_FILE: '' } });
      try {
        const vip = h.sandbox.data.byArchetype('vip');
        await ask(h, 'audited-1', READ, { phone: vip.phone });
        await ask(h, 'audited-2', READ, { phone: vip.phone });
        await ask(h, 'unaudited-1', '{ __typename }');
        const lines = await eventually(
          () => linesOf(h, written),
          (found) => found.some((line) => line.reqId === 'unaudited-1'),
        );
        for (const reqId of ['audited-1', 'audited-2']) {
          expect(lines.filter((line) => line.reqId === reqId)).toEqual([
            expect.objectContaining({
              reqId,
              context: 'Audit',
              audit: 'customer.read',
              who: expect.objectContaining({ identity: h.sandbox.data.agents[0].identity }),
              whose: { profileId: vip.profileId },
              field: 'customerContext',
              parts: ['profileId'],
              outcome: 'read',
              req: { method: 'POST', path: '/graphql' },
              res: { statusCode: 200 },
              responseTime: expect.any(Number),
            }),
          ]);
        }
        // A request that read no customer data keeps its own line.
        expect(lines.filter((line) => line.reqId === 'unaudited-1')).toEqual([
          expect.objectContaining({ msg: 'request completed', req: { method: 'POST', path: '/graphql' }, res: { statusCode: 200 } }),
        ]);
      } finally {
        await h.close();
      }
    }));

  it('keeps the request line in the service log when the audit trail goes to its own file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-audit-'));
    const file = join(dir, 'audit.log');
    try {
      await catchingStdout(async (written) => {
        const h = await startHarness({ redis: false, sandbox: { customers: 6 }, env: { LOG_LEVEL: 'info', AUDIT_LOG_FILE: file } });
        try {
          await ask(h, 'audited-to-file', READ, { phone: h.sandbox.data.byArchetype('vip').phone });
          const lines = await eventually(
            () => linesOf(h, written),
            (found) => found.some((line) => line.reqId === 'audited-to-file'),
          );
          expect(lines.filter((line) => line.reqId === 'audited-to-file')).toEqual([
            expect.objectContaining({ msg: 'request completed', req: { method: 'POST', path: '/graphql' }, res: { statusCode: 200 } }),
          ]);
          const audited = await eventually(
            () => readFileSync(file, 'utf8'),
            (t) => t.includes('audited-to-file'),
          );
          const line = JSON.parse(audited.trim().split('\n').at(-1)!) as Record<string, unknown>;
          expect(line).toMatchObject({ reqId: 'audited-to-file', audit: 'customer.read' });
          expect(line.req).toBeUndefined();
        } finally {
          await h.close();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
