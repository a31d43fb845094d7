import type { Changes } from '../changes';
import { audienceKey } from '../changes';
import { displayName, formatValue, humanize, idOf } from '../format';
import type { LiveState } from '../live';
import type { CustomerContext, TraitDetail } from '../query';
import { ago, exactly } from '../time';

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

/** What the identity block shows of the customer's business account, in order. */
const ACCOUNT_TRAITS: ReadonlyArray<[string, string]> = [
  ['plan', 'Account plan'],
  ['tier', 'Account tier'],
];

/** "Set 3 months ago (4 Mar 2025, 15:20) by source abc123": a trait's age, for its title. */
function setWhen(detail: TraitDetail | undefined, now: number): string | undefined {
  if (!detail?.updatedAt) return undefined;
  const by = detail.source ? ` by source ${detail.source}` : '';
  const old = detail.stale ? ' — older than this service counts as current' : '';
  return `Set ${ago(detail.updatedAt, now)} (${exactly(detail.updatedAt)})${by}${old}`;
}

const LIVE_TEXT: Record<LiveState, string> = { live: 'Live', connecting: 'Connecting…', offline: 'Not live' };

interface Props {
  context: CustomerContext;
  changes: Changes | null;
  live: LiveState;
  now: number;
}

export function Identity({ context, changes, live, now }: Props) {
  const { traits, account } = context;
  const details = new Map(context.traitDetails.map((detail) => [detail.key, detail]));
  const accountName = account
    ? typeof account.traits.name === 'string' && account.traits.name.trim() !== ''
      ? account.traits.name
      : (account.groupId ?? 'Linked account')
    : null;
  const accountFacts = account
    ? ACCOUNT_TRAITS.filter(([key]) => account.traits[key] !== undefined && account.traits[key] !== null && account.traits[key] !== '')
    : [];
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
          {facts.map(([key, label]) => {
            const detail = details.get(key);
            return (
              <div key={key} data-stale={detail?.stale ? '' : undefined}>
                <dt>{label}</dt>
                <dd title={setWhen(detail, now)}>
                  {formatValue(traits[key])}
                  {detail?.stale && <span class="stale-mark"> · old</span>}
                </dd>
              </div>
            );
          })}
        </dl>
      )}
      {account && (
        <dl class="facts account" aria-label="Account">
          <div>
            <dt>Account</dt>
            <dd title={account.groupId === null ? undefined : `group_id ${account.groupId}`}>{accountName}</dd>
          </div>
          {accountFacts.map(([key, label]) => (
            <div key={key}>
              <dt>{label}</dt>
              <dd>{formatValue(account.traits[key])}</dd>
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
