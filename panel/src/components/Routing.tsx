import { formatValue } from '../format';
import type { CustomerContext } from '../query';

/** `customers.*` repeats name, email and phone for Flex Insights: the header shows those already. */
const INSIGHTS_KEY = 'customers';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function Routing({ routing }: { routing: CustomerContext['routing'] }) {
  const groups = Object.entries(routing.attributes).filter(([key]) => key !== INSIGHTS_KEY);
  const reasons = new Map(routing.explanations.map((e) => [e.rule, e.reason]));
  const unmatched = routing.explanations.filter((e) => !e.matched);
  return (
    <section aria-labelledby="routing-title">
      <h2 id="routing-title">Routing</h2>
      {routing.degraded && (
        <p class="notice notice-warn small">Decided without all customer data{routing.degradedReason ? `: ${routing.degradedReason}` : ''}.</p>
      )}
      <h3>Matched rules</h3>
      {routing.matchedRules.length === 0 ? (
        <p class="muted">No rule matched: the defaults apply.</p>
      ) : (
        <ul class="rules">
          {routing.matchedRules.map((rule) => (
            <li key={rule}>
              <code>{rule}</code> <span class="muted small">{reasons.get(rule)}</span>
            </li>
          ))}
        </ul>
      )}
      {unmatched.length > 0 && (
        <details>
          <summary>Rules that did not match ({unmatched.length})</summary>
          <ul class="rules">
            {unmatched.map((rule) => (
              <li key={rule.rule}>
                <code>{rule.rule}</code> <span class="muted small">{rule.error ?? rule.reason}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      {groups.map(([key, value]) => (
        <div key={key}>
          <h3>
            Task attributes <code>{key}</code>
          </h3>
          <dl class="attributes">
            {(isObject(value) ? Object.entries(value) : [[key, value] as const]).map(([name, item]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{formatValue(item)}</dd>
              </div>
            ))}
          </dl>
        </div>
      ))}
    </section>
  );
}
