import { humanize } from '../format';
import type { CustomerContext } from '../query';

const PART: Record<string, string> = { traits: 'Trait', events: 'Event detail' };

/** What the customer's consent keeps from the agent, and why: a reason rather than a blank. */
export function Withheld({ withheld }: { withheld: CustomerContext['withheld'] }) {
  if (withheld.length === 0) return null;
  return (
    <div class="notices">
      <div class="notice notice-consent" data-state="withheld">
        <p>
          <strong>Not shown, by the customer's choice:</strong>
        </p>
        <ul class="withheld">
          {withheld.map((item) => (
            <li key={`${item.part}:${item.path}`}>
              {PART[item.part] ?? item.part} <em>{humanize(item.path)}</em>: {item.action} — the customer declined {item.consent}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
