import type { Principal } from '../auth/principal';
import type { Message } from './customer-context.model';
import { AccessPolicy } from '../security/access-policy';
import { MessageTextResolver } from './message-text.resolver';

const who = (...roles: string[]) => ({ principal: { identity: 'jane', roles, workerSid: 'WK1', expiresAt: Date.now() + 60_000 } satisfies Principal });
const message = (body: string | null): Message => ({ sid: 'IM1', author: 'agent@example.com', fromCustomer: false, body, createdAt: new Date(0) });

describe('MessageTextResolver.bodyWithheld', () => {
  const resolver = new MessageTextResolver(
    AccessPolicy.parse(`
roles:
  agent:
    traits: { allow: ['*'] }
  wfo:
    traits: { allow: ['plan'] }
    conversations: { allow: ['*'], deny: ['messages.body'] }
  qa:
    traits: { allow: ['plan'] }
    conversations: { allow: ['*'], mask: ['messages.body'] }
`),
  );

  it('is true only where the policy hides text that exists', () => {
    expect(resolver.bodyWithheld(message('My card was charged twice'), who('wfo'))).toBe(true);
    expect(resolver.bodyWithheld(message('My card was charged twice'), who('wfo.viewer'))).toBe(true);
    // Masked text is shown (masked), and a message without text withholds nothing.
    expect(resolver.bodyWithheld(message('My card was charged twice'), who('qa'))).toBe(false);
    expect(resolver.bodyWithheld(message(null), who('wfo'))).toBe(false);
    expect(resolver.bodyWithheld(message('hi'), who('agent'))).toBe(false);
  });

  it('withholds nothing without a policy file', () => {
    expect(new MessageTextResolver(AccessPolicy.load(undefined)).bodyWithheld(message('hi'), who('wfo'))).toBe(false);
  });
});
