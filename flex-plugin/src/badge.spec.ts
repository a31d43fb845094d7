import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { badgeFacts, CustomerContextBadge } from './badge';

const render = (attributes: unknown) => renderToStaticMarkup(createElement(CustomerContextBadge, { task: { attributes } }));
const chips = (attributes: unknown) => [...render(attributes).matchAll(/<span[^>]*>([^<]+)<\/span>/g)].map((m) => m[1]);

describe(CustomerContextBadge.name, () => {
  it('shows VIP and the language of a stamped task', () => {
    const attributes = { channel: 'sms', customer_context: { vip: true, tier: 'gold', language: 'es', degraded: false } };
    expect(badgeFacts(attributes)).toEqual({ vip: true, tier: 'gold', language: 'es', degraded: null });
    expect(chips(attributes)).toEqual(['VIP', 'ES']);
    expect(render(attributes)).toContain('aria-label="Customer context"');
  });

  it('shows a non-standard tier when the customer is not VIP', () => {
    expect(chips({ customer_context: { vip: false, tier: 'silver', language: 'en' } })).toEqual(['silver', 'EN']);
  });

  it('shows nothing for a task routing has not stamped', () => {
    expect(badgeFacts({ channel: 'sms' })).toBeNull();
    expect(badgeFacts({ customer_context: 'yes' })).toBeNull();
    expect(badgeFacts(undefined)).toBeNull();
    expect(render({ channel: 'sms' })).toBe('');
    expect(renderToStaticMarkup(createElement(CustomerContextBadge, { task: undefined }))).toBe('');
  });

  it('says a degraded decision was made on little data, and why', () => {
    const attributes = {
      customer_context: { vip: false, tier: 'standard', language: 'en', degraded: true, degraded_reason: 'customer data incomplete: segment' },
    };
    expect(chips(attributes)).toEqual(['EN', 'Limited data: customer data incomplete: segment']);
    expect(chips({ customer_context: { degraded: true } })).toEqual(['Limited data: reason unknown']);
  });
});
