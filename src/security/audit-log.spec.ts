import { CustomerRoot } from '../context/customer-context.service';
import { AuditLog } from './audit-log';
import type { AuditSink } from './audit-sink';

const principal = { identity: 'jane@acme.test', roles: ['agent'], workerSid: 'WK1', expiresAt: 0 };

describe(AuditLog.name, () => {
  let lines: unknown[];
  let sink: AuditSink;
  beforeEach(() => {
    lines = [];
    sink = { write: (line: unknown) => void lines.push(line) } as unknown as AuditSink;
  });

  it('says who read whose data and which parts', () => {
    new AuditLog(sink).customerRead({ principal, field: 'customerContext', parts: ['traits', 'events'], lookup: { phone: '+12015550100' }, result: new CustomerRoot('use_1', null, [], ['+12015550100'], null) });
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

  it('never writes an identifier in clear: addresses and lookups are hashed, sids kept', () => {
    const audit = new AuditLog(sink);
    audit.customerRead({ principal, field: 'customerContext', parts: [], result: new CustomerRoot(null, null, [], ['whatsapp:+34600000000'], null) });
    audit.customerRead({ principal, field: 'routingPreview', parts: ['attributes'], lookup: { email: 'ada@example.com', taskSid: 'WT1' }, error: 'FORBIDDEN' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('34600000000');
    expect(text).not.toContain('ada@example.com');
    expect(lines[1]).toMatchObject({ whose: { email: expect.any(String), taskSid: 'WT1' }, outcome: 'refused', error: 'FORBIDDEN' });
  });
});
