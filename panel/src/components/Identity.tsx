import type { Changes } from '../changes';
import { audienceKey } from '../changes';
import { displayName, formatValue, humanize, idOf } from '../format';
import type { LiveState } from '../live';
import type { CustomerContext } from '../query';

/** The traits an agent wants before saying hello; others stay out of the way. */
const KEY_TRAITS: ReadonlyArray<[string, string]> = [
  ['plan', 'Plan'],
  ['loyalty_tier', 'Loyalty tier'],
  ['lifetime_value', 'Lifetime value'],
  ['orders_count', 'Orders'],
  ['language', 'Language'],
  ['city', 'City'],
  ['preferred_channel', 'Prefers'],
  ['company', 'Company'],
  ['account_manager', 'Account manager'],
];

const LIVE_TEXT: Record<LiveState, string> = { live: 'Live', connecting: 'Connecting…', offline: 'Not live' };

interface Props {
  context: CustomerContext;
  changes: Changes | null;
  live: LiveState;
}

export function Identity({ context, changes, live }: Props) {
  const { traits } = context;
  const ids: Array<[string, string | null]> = [
    ['Email', idOf(context, 'email') ?? (typeof traits.email === 'string' ? traits.email : null)],
    ['Phone', idOf(context, 'phone') ?? (typeof traits.phone === 'string' ? traits.phone : null)],
    ['User id', idOf(context, 'user_id')],
  ];
  const facts = KEY_TRAITS.filter(([key]) => traits[key] !== undefined && traits[key] !== null && traits[key] !== '');
  return (
    <header class="identity">
      <div class="identity-top">
        <h1 id="customer-name">{displayName(context)}</h1>
        <span class={`live live-${live}`} title={context.profileId ? undefined : 'No Segment profile: nothing to follow'}>
          {context.profileId ? LIVE_TEXT[live] : 'Not live'}
        </span>
      </div>
      {context.audiences.length > 0 && (
        <ul class="badges" aria-label="Audiences">
          {context.audiences.map((audience) => (
            <li key={audience} class="badge" data-fresh={changes?.keys.has(audienceKey(audience)) ? '' : undefined}>
              {humanize(audience)}
            </li>
          ))}
        </ul>
      )}
      <dl class="ids">
        {ids
          .filter((entry): entry is [string, string] => entry[1] !== null)
          .map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
      </dl>
      {facts.length > 0 && (
        <dl class="facts" aria-label="Key traits">
          {facts.map(([key, label]) => (
            <div key={key}>
              <dt>{label}</dt>
              <dd>{formatValue(traits[key])}</dd>
            </div>
          ))}
        </dl>
      )}
      {context.resolvedBy && (
        <p class="muted small">
          Found by {humanize(context.resolvedBy.type)} {context.resolvedBy.id}
        </p>
      )}
    </header>
  );
}
