import { useEffect, useState } from 'preact/hooks';
import { Identity } from './components/Identity';
import { Journey } from './components/Journey';
import { Messages } from './components/Messages';
import { Notices } from './components/Notices';
import { Recap } from './components/Recap';
import { Routing } from './components/Routing';
import { Signals } from './components/Signals';
import { Empty, Erased, Failed, Loading, NoLookup, SignIn } from './components/States';
import { Withheld } from './components/Withheld';
import { displayName } from './format';
import { describeLookup, type CustomerLookup } from './lookup';
import type { PanelSettings } from './settings';
import { usePanel, type View } from './use-panel';

/** Marked once the agent can read something useful: the first-paint budget is measured to here. */
const USEFUL_MARK = 'customer-context:useful';

/** Relative times ("5 minutes ago") move on without a re-query. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function announcement(view: View): string {
  switch (view.state) {
    case 'ready':
      return view.changes?.summary || `Showing ${displayName(view.context)}.`;
    case 'empty':
      return 'No customer found.';
    case 'erased':
      return "This customer's data was erased.";
    case 'signin':
      return 'Sign-in needed.';
    case 'failed':
      return 'Could not load the customer.';
    default:
      return '';
  }
}

export function App({ settings, lookup }: { settings: PanelSettings; lookup: CustomerLookup | null }) {
  const { view, live, retry } = usePanel(settings, lookup);
  const now = useNow(30_000);
  const useful = view.state === 'ready' || view.state === 'empty';
  useEffect(() => {
    if (useful && performance.getEntriesByName(USEFUL_MARK).length === 0) performance.mark(USEFUL_MARK);
  }, [useful]);
  return (
    <main aria-busy={view.state === 'loading'}>
      {/* Polite: an update must not cut off what the agent's screen reader is saying. */}
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement(view)}
      </p>
      {view.state === 'loading' && <Loading />}
      {view.state === 'no-lookup' && <NoLookup />}
      {view.state === 'signin' && <SignIn embedded={window.parent !== window} fragmentToken={settings.fragmentToken} />}
      {view.state === 'failed' && <Failed message={view.message} onRetry={retry} />}
      {view.state === 'empty' && lookup && <Empty lookup={describeLookup(lookup)} />}
      {view.state === 'erased' && <Erased />}
      {view.state === 'ready' && (
        <div class="customer" data-state="ready" data-unconfirmed={view.unconfirmed ? '' : undefined}>
          <Recap context={view.context} now={now} />
          <Identity context={view.context} changes={view.changes} live={live} now={now} />
          <Notices freshness={view.context.freshness} refreshFailed={view.refreshFailed} onRetry={retry} />
          <Withheld withheld={view.context.withheld} />
          <Signals signals={view.context.signals} changes={view.changes} now={now} />
          <Journey journey={view.context.journey} changes={view.changes} now={now} />
          <Messages context={view.context} changes={view.changes} now={now} />
          <Routing routing={view.context.routing} />
        </div>
      )}
    </main>
  );
}
