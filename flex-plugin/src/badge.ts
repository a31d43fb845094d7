import { createElement, type CSSProperties, type ReactElement } from 'react';

/**
 * What routing stamped on the task (`customer_context`, the routing rules' default namespace),
 * shown where agents look first. It reads the task's own attributes: no request of its own.
 */
export interface BadgeFacts {
  vip: boolean;
  tier: string | null;
  language: string | null;
  /** Why routing decided on too little, when it did. */
  degraded: string | null;
}

export const NAMESPACE = 'customer_context';

/** Null for a task routing has not stamped (or whose stamp is not an object). */
export function badgeFacts(attributes: unknown): BadgeFacts | null {
  const stamped = (attributes as Record<string, unknown> | null | undefined)?.[NAMESPACE];
  if (typeof stamped !== 'object' || stamped === null || Array.isArray(stamped)) return null;
  const values = stamped as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
  return {
    vip: values.vip === true,
    tier: text(values.tier),
    language: text(values.language),
    degraded: values.degraded === true ? (text(values.degraded_reason) ?? 'reason unknown') : null,
  };
}

const chip: CSSProperties = {
  display: 'inline-block',
  padding: '0 6px',
  marginRight: 4,
  borderRadius: 8,
  fontSize: 11,
  lineHeight: '16px',
  fontWeight: 600,
  border: '1px solid currentColor',
};

/** Rendered in the task's header; Flex hands each added child the header's props, `task` among them. */
export function CustomerContextBadge(props: { task?: { attributes?: unknown } }): ReactElement | null {
  const facts = badgeFacts(props.task?.attributes);
  if (!facts) return null;
  const chips: ReactElement[] = [];
  if (facts.vip) chips.push(createElement('span', { key: 'vip', style: { ...chip, color: '#8a5a00' } }, 'VIP'));
  else if (facts.tier && facts.tier !== 'standard') chips.push(createElement('span', { key: 'tier', style: chip }, facts.tier));
  if (facts.language) chips.push(createElement('span', { key: 'language', style: chip, title: 'Customer language' }, facts.language.toUpperCase()));
  if (facts.degraded) {
    chips.push(createElement('span', { key: 'degraded', style: { ...chip, color: '#b3261e' }, title: facts.degraded }, `Limited data: ${facts.degraded}`));
  }
  if (chips.length === 0) return null;
  return createElement('span', { className: 'customer-context-badge', role: 'note', 'aria-label': 'Customer context' }, ...chips);
}

/** In the CRM container when the plugin does not know where the service is. */
export function NotConfigured(props: { problem: string }): ReactElement {
  return createElement('div', { className: 'customer-context-not-configured', role: 'alert', style: { padding: 16, fontSize: 14 } }, props.problem);
}
