import { createHmac } from 'node:crypto';
import { hasValidSegmentSignature } from './segment-signature.guard';

const body = '{"type":"track","event":"Order Completed","userId":"u1"}';

describe('hasValidSegmentSignature', () => {
  it('accepts the documented test vector', () => {
    expect(hasValidSegmentSignature('shh', '1b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(body), JSON.parse(body))).toBe(true);
    expect(hasValidSegmentSignature('shh', '1B345AB46DC993B9965667EC78328CF97D231B18', Buffer.from(body), JSON.parse(body))).toBe(true);
  });

  it('refuses forged, truncated and missing signatures and a missing secret', () => {
    expect(hasValidSegmentSignature('shh', '0b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(body), null)).toBe(false);
    expect(hasValidSegmentSignature('shh', '1b345ab46dc993b9965667ec78328cf97d231b1', Buffer.from(body), null)).toBe(false);
    expect(hasValidSegmentSignature('shh', undefined, Buffer.from(body), null)).toBe(false);
    expect(hasValidSegmentSignature(undefined, '1b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(body), null)).toBe(false);
    expect(hasValidSegmentSignature('shh', '1b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(`${body} `), null)).toBe(false);
  });

  it('accepts a batch signed over its first element alone', () => {
    const first = { type: 'track', event: 'A', userId: 'u1', messageId: 'm1' };
    const batch = [first, { type: 'track', event: 'B', userId: 'u1', messageId: 'm2' }];
    const signature = createHmac('sha1', 'shh').update(JSON.stringify(first)).digest('hex');
    expect(hasValidSegmentSignature('shh', signature, Buffer.from(JSON.stringify(batch, null, 2)), batch)).toBe(true);
    expect(hasValidSegmentSignature('shh', signature, Buffer.from(JSON.stringify(batch)), [batch[1], first])).toBe(false);
  });
});
