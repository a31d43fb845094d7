import type { CustomerContext } from '../query';
import { When } from './When';

interface Props {
  context: CustomerContext;
  now: number;
}

/**
 * What the last contact left, first on screen so the next agent need not ask the customer to
 * repeat themselves: the last wrap-up note's summary (Agent Copilot), and what Conversational
 * Intelligence heard (sentiment, a request for a manager, a request not to be contacted).
 */
export function Recap({ context, now }: Props) {
  const note = context.latestNote;
  const { lastSentiment, escalationRequested24h, doNotContact } = context.signals;
  if (!note && !lastSentiment && !escalationRequested24h && !doNotContact) return null;
  const summary = note?.summary ?? (note?.summaryWithheld ? 'The summary is not shown to your role.' : 'No summary was written.');
  return (
    <section class="recap" aria-labelledby="recap-title" data-testid="recap">
      <h2 id="recap-title">Last contact</h2>
      {(escalationRequested24h || doNotContact || lastSentiment) && (
        <ul class="badges recap-flags" aria-label="What the customer said">
          {escalationRequested24h && <li class="badge badge-alert">Asked for a manager (24 h)</li>}
          {doNotContact && <li class="badge badge-alert">Asked not to be contacted</li>}
          {lastSentiment && <li class={lastSentiment === 'negative' ? 'badge badge-alert' : 'badge'}>Sentiment: {lastSentiment}</li>}
        </ul>
      )}
      {note && (
        <figure class="recap-note">
          <blockquote class={note.summary === null ? 'recap-summary muted' : 'recap-summary'} data-withheld={note.summaryWithheld ? '' : undefined}>
            {summary}
          </blockquote>
          <figcaption class="muted small">
            Wrap-up note
            {note.sentiment && <> · {note.sentiment}</>} · <When iso={note.createdAt} now={now} />
          </figcaption>
        </figure>
      )}
    </section>
  );
}
