import { cacheKeys } from '../cache/cache-keys';
import { cacheResource } from './cache-resources';
import type { AppConfig } from '../config/config';
import { IdentifierDigest } from '../common/identifier-digest';

const ids = new IdentifierDigest({ identity: { hashSecret: 'cache-resources-spec-secret-0123456789' }, twilio: {} } as unknown as AppConfig);

describe('cacheResource', () => {
  it('names the resource of every key the service writes, without any part of the key', () => {
    const profile = 'use_2Xq9';
    expect(
      [
        cacheKeys.resolution(ids, 'phone', '+14155550100'),
        cacheKeys.traits(profile),
        cacheKeys.audiences(profile),
        cacheKeys.events(profile),
        cacheKeys.externalIds(profile),
        cacheKeys.accounts(profile),
        cacheKeys.accountTraits(ids, 'grp_1'),
        cacheKeys.pendingChanges(profile),
        cacheKeys.conversations(ids, 'whatsapp:+14155550100'),
        cacheKeys.messages('CH123'),
        cacheKeys.conversationCustomer('CH123'),
        cacheKeys.task('WT123'),
        cacheKeys.delivery(ids, 'segment', 'msg-1'),
        // The auth caches build their keys beside their code.
        'auth:q2Vb7Hk',
        'authz:worker:WK123',
      ].map(cacheResource),
    ).toEqual([
      'resolution',
      'traits',
      'audiences',
      'events',
      'external_ids',
      'accounts',
      'account_traits',
      'pending',
      'conversations',
      'messages',
      'conversation_customer',
      'task',
      'delivery',
      'auth_token',
      'worker_reservations',
    ]);
  });

  it('puts keys of an unknown layout under other', () => {
    expect(cacheResource('something:new')).toBe('other');
    expect(cacheResource('p:{use_1}:unheard_of')).toBe('other');
    expect(cacheResource('p:{use_1}:constructor')).toBe('other');
    expect(cacheResource('nocolon')).toBe('other');
  });
});
