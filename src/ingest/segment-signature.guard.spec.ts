import { createHmac } from 'node:crypto';
import { segmentSignatureCovers } from './segment-signature.guard';

const body = '{"type":"track","event":"Order Completed","userId":"u1"}';

describe('hasValidSegmentSignature', () => {
  it('accepts the documented test vector as covering the whole body', () => {
    expect(segmentSignatureCovers('shh', '1b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(body), JSON.parse(body))).toBe('body');
    expect(segmentSignatureCovers('shh', '1B345AB46DC993B9965667EC78328CF97D231B18', Buffer.from(body), JSON.parse(body))).toBe('body');
  });

  it('refuses forged, truncated and missing signatures and a missing secret', () => {
    expect(segmentSignatureCovers('shh', '0b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(body), null)).toBeNull();
    expect(segmentSignatureCovers('shh', '1b345ab46dc993b9965667ec78328cf97d231b1', Buffer.from(body), null)).toBeNull();
    expect(segmentSignatureCovers('shh', undefined, Buffer.from(body), null)).toBeNull();
    expect(segmentSignatureCovers(undefined, '1b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(body), null)).toBeNull();
    expect(segmentSignatureCovers('shh', '1b345ab46dc993b9965667ec78328cf97d231b18', Buffer.from(`${body} `), null)).toBeNull();
  });

  it('says a batch signed over its first element alone is signed over that element only', () => {
    const first = { type: 'track', event: 'A', userId: 'u1', messageId: 'm1' };
    const batch = [first, { type: 'track', event: 'B', userId: 'u1', messageId: 'm2' }];
    const signature = createHmac('sha1', 'shh').update(JSON.stringify(first)).digest('hex');
    expect(segmentSignatureCovers('shh', signature, Buffer.from(JSON.stringify(batch, null, 2)), batch)).toBe('first');
    expect(segmentSignatureCovers('shh', signature, Buffer.from(JSON.stringify(batch)), [batch[1], first])).toBeNull();
  });

  it('says a batch signed over its raw bytes is signed whole', () => {
    const raw = JSON.stringify([
      { type: 'track', event: 'A', userId: 'u1', messageId: 'm1' },
      { type: 'track', event: 'B', userId: 'u1', messageId: 'm2' },
    ]);
    const signature = createHmac('sha1', 'shh').update(raw).digest('hex');
    expect(segmentSignatureCovers('shh', signature, Buffer.from(raw), JSON.parse(raw))).toBe('body');
  });
});
