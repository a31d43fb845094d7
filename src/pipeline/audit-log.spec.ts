import { CustomerRoot } from '../context/customer-context.service';
import { createHash } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { AuditLog } from './audit-log';
import type { AuditSink } from './audit-sink';
import { IdentifierDigest } from '../common/identifier-digest';

const digest = new IdentifierDigest({ identity: { hashSecret: 'audit-test-secret-0123456789abcdef' }, twilio: {} } as unknown as AppConfig);
const principal = { identity: 'jane@acme.test', roles: ['agent'], workerSid: 'WK1', expiresAt: 0 };

describe(AuditLog.name, () => {
  let lines: unknown[];
  let sink: AuditSink;
  beforeEach(() => {
    lines = [];
    sink = { write: (line: unknown) => void lines.push(line) } as unknown as AuditSink;
  });

  it('says who read whose data and which parts', () => {
    new AuditLog(sink, digest).customerRead({
      principal,
      field: 'customerContext',
      parts: ['traits', 'events'],
      lookup: { phone: '+12015550100' },
      result: new CustomerRoot('use_1', null, [], ['+12015550100'], null),
    });
    expect(lines).toEqual([
      {
        audit: 'customer.read',
        who: { identity: 'jane@acme.test', workerSid: 'WK1', roles: ['agent'] },
        whose: { profileId: 'use_1' },
        field: 'customerContext',
        parts: ['traits', 'events'],
        outcome: 'read',
        error: undefined,
      },
    ]);
  });

  it('hashes identifiers with the keyed digest: a plain hash of a phone is reversed by hashing every phone', () => {
    new AuditLog(sink, digest).customerRead({
      principal,
      field: 'customerContext',
      parts: [],
      result: new CustomerRoot(null, null, [], ['+34600000000'], null),
    });
    const [line] = lines as Array<{ whose: { addresses: string[] } }>;
    expect(line.whose.addresses).toEqual([digest.of('+34600000000', 16)]);
    expect(line.whose.addresses[0]).not.toBe(createHash('sha256').update('+34600000000').digest('base64url').slice(0, 16));
  });

  it('never writes an identifier in clear: addresses and lookups are hashed, sids kept', () => {
    const audit = new AuditLog(sink, digest);
    audit.customerRead({ principal, field: 'customerContext', parts: [], result: new CustomerRoot(null, null, [], ['whatsapp:+34600000000'], null) });
    audit.customerRead({ principal, field: 'routingPreview', parts: ['attributes'], lookup: { email: 'ada@example.com', taskSid: 'WT1' }, error: 'FORBIDDEN' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('34600000000');
    expect(text).not.toContain('ada@example.com');
    expect(lines[1]).toMatchObject({ whose: { email: expect.any(String), taskSid: 'WT1' }, outcome: 'refused', error: 'FORBIDDEN' });
  });
});
