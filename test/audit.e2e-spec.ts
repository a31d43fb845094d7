import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
