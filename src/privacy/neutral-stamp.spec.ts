import { segmentMessage } from '../ingest/segment-event';
import { neutralTaskAttributes } from './neutral-stamp';

describe('neutralTaskAttributes', () => {
  it("replaces our stamp and the Insights customer fields, and keeps everyone else's attributes", () => {
    const task = {
      from: '+12015550100',
      channelType: 'sms',
      customer_context: { vip: true, language: 'en' },
      customers: { name: 'Jane Doe', email: 'jane@example.com', phone: '+12015550100', customer_label_1: 'gold', account_id: 'A-1' },
    };
    expect(neutralTaskAttributes(task, 'customer_context')).toEqual({
      from: '+12015550100',
      channelType: 'sms',
      customer_context: { erased: true },
      customers: { account_id: 'A-1' },
    });
    expect(neutralTaskAttributes({ customers: { name: 'Jane' } }, 'cc')).toEqual({ cc: { erased: true } });
  });

  it('writes nothing to a task that is already neutral', () => {
    expect(neutralTaskAttributes({ from: 'x', customer_context: { erased: true } }, 'customer_context')).toBeNull();
  });
});

describe('Segment delete messages', () => {
  it('accepts the documented deletion notification, which has no messageId, and dedupes it on user and time', () => {
    const parsed = segmentMessage.parse({ type: 'delete', userId: '019mr8mf4r', timestamp: '2012-12-02T00:30:08.276Z' });
    expect(parsed).toMatchObject({ type: 'delete', userId: '019mr8mf4r', messageId: expect.stringMatching(/^delete:[\w-]{43}$/) });
    // The same request again (Segment retries) has the same id; another time, another one.
    expect(segmentMessage.parse({ type: 'delete', userId: '019mr8mf4r', timestamp: '2012-12-02T00:30:08.276Z' }).messageId).toBe(parsed.messageId);
    expect(segmentMessage.parse({ type: 'delete', userId: '019mr8mf4r', timestamp: '2012-12-03T00:30:08.276Z' }).messageId).not.toBe(parsed.messageId);
    expect(segmentMessage.parse({ type: 'delete', userId: 'u1', messageId: 'delete-reg-1::job-2' }).messageId).toBe('delete-reg-1::job-2');
  });

  it('refuses a delete without a userId (Segment deletes by userId)', () => {
    expect(segmentMessage.safeParse({ type: 'delete', anonymousId: 'a1', timestamp: '2012-12-02T00:30:08.276Z' }).success).toBe(false);
  });
});
