import { useState } from 'preact/hooks';
import { journeyKey, type Changes } from '../changes';
import type { JourneyEntry } from '../query';
import { When } from './When';

/** Enough to read at a glance; the rest is one keypress away. */
const FIRST_SHOWN = 8;

interface Props {
  journey: JourneyEntry[];
  changes: Changes | null;
  now: number;
}

function detail(entry: JourneyEntry): string {
  if (entry.event) return entry.event.type === 'page' ? 'web page' : 'web event';
  if (entry.kind === 'note') return 'wrap-up note';
  if (entry.kind === 'intelligence') return 'call analysis';
  return entry.conversation?.state === 'active' ? 'conversation, open' : 'conversation';
}

export function Journey({ journey, changes, now }: Props) {
  const [all, setAll] = useState(false);
  const shown = all ? journey : journey.slice(0, FIRST_SHOWN);
  return (
    <section aria-labelledby="journey-title">
      <h2 id="journey-title">Journey</h2>
      {journey.length === 0 ? (
        <p class="muted">No web activity or conversations in the last 14 days.</p>
      ) : (
        <ol class="timeline">
          {shown.map((entry) => {
            const key = journeyKey(entry);
            const fresh = changes?.keys.has(key);
            return (
              <li key={key} class={`entry entry-${entry.kind}`} data-fresh={fresh ? '' : undefined}>
                <span class="entry-title">
                  {entry.title}
                  {fresh && <span class="new-label">new</span>}
                </span>
                <span class="muted small">
                  {detail(entry)} · <When iso={entry.at} now={now} />
                </span>
              </li>
            );
          })}
        </ol>
      )}
      {journey.length > FIRST_SHOWN && (
        <button type="button" class="link" aria-expanded={all} onClick={() => setAll(!all)}>
          {all ? 'Show fewer' : `Show all ${journey.length}`}
        </button>
      )}
    </section>
  );
}
