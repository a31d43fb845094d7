import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootLogger } from '../src/common/logging';
import { AuditSink } from '../src/security/audit-sink';
import { startHarness } from './support/harness';
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

  it('writes one line per answered read at info: the audit line carries the request line, the request id and every audit field', async () => {
    // What the service writes to stdout (fd 1), caught before it is written.
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
    const h = await startHarness({ redis: false, sandbox: { customers: 6 }, env: { LOG_LEVEL: 'info', AUDIT_LOG_FILE: '' } });
    try {
      const vip = h.sandbox.data.byArchetype('vip');
      const ask = async (requestId: string, query: string, variables?: Record<string, unknown>) => {
        const response = await fetch(`${h.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${h.sandbox.credentials.agentToken}`, 'x-request-id': requestId },
          body: JSON.stringify({ query, variables }),
        });
        expect(response.status).toBe(200);
        await response.text();
      };
      const read = `query($phone: String!) { customerContext(lookup: {phone: $phone}) { profileId } }`;
      await ask('audited-1', read, { phone: vip.phone });
      await ask('audited-2', read, { phone: vip.phone });
      await ask('unaudited-1', '{ __typename }');
      const linesOf = () => {
        h.app.get(AuditSink).flush();
        rootLogger(h.config).flush();
        return written
          .join('')
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      };
      const lines = await eventually(linesOf, (found) => found.some((line) => line.reqId === 'unaudited-1'));
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
      write.mockRestore();
      writeSync.mockRestore();
    }
  });
});
