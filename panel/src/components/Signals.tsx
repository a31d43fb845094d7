import { signalKey, type Changes } from '../changes';
import type { CustomerContext } from '../query';
import { When } from './When';

interface Props {
  signals: CustomerContext['signals'];
  changes: Changes | null;
  now: number;
}

export function Signals({ signals, changes, now }: Props) {
  const fresh = (name: string) => (changes?.keys.has(signalKey(name)) ? '' : undefined);
  return (
    <section aria-labelledby="signals-title">
      <h2 id="signals-title">Signals</h2>
      <dl class="tiles">
        <div class={signals.repeatContact24h ? 'tile tile-alert' : 'tile'} data-fresh={fresh('contacts24h') ?? fresh('repeatContact24h')}>
          <dt>Repeat contact</dt>
          <dd>
            {signals.repeatContact24h ? 'Yes' : 'No'}
            <span class="muted small"> · {signals.contacts24h} in 24 h</span>
          </dd>
        </div>
        <div class="tile" data-fresh={fresh('openConversations')}>
          <dt>Open conversations</dt>
          <dd>{signals.openConversations}</dd>
        </div>
        <div class="tile" data-fresh={fresh('lastPurchaseAt')}>
          <dt>Last purchase</dt>
          <dd>
            <When iso={signals.lastPurchaseAt} now={now} />
          </dd>
        </div>
        <div class="tile" data-fresh={fresh('lastSeenAt')}>
          <dt>Last seen</dt>
          <dd>
            <When iso={signals.lastSeenAt} now={now} />
          </dd>
        </div>
      </dl>
    </section>
  );
}
