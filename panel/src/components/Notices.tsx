import { sourceLabel } from '../format';
import type { CustomerContext } from '../query';

interface Props {
  freshness: CustomerContext['freshness'];
  refreshFailed: string | null;
  onRetry(): void;
}

/**
 * Partial (a source failed and nothing of it is shown) and stale (an old copy is shown, its refresh
 * on the way or failing): say which, so the agent knows what is missing and what not to trust.
 */
export function Notices({ freshness, refreshFailed, onRetry }: Props) {
  const failed = freshness.sources.filter((s) => s.error && !s.fetchedAt);
  const stale = freshness.sources.filter((s) => s.stale && s.fetchedAt);
  const staleLabel = (s: (typeof stale)[number]) => (s.error ? `${sourceLabel(s.source)} (refresh failing: ${s.error})` : sourceLabel(s.source));
  if (failed.length === 0 && stale.length === 0 && !refreshFailed) return null;
  return (
    <div class="notices">
      {failed.length > 0 && (
        <div class="notice notice-error" data-state="partial">
          <p>
            <strong>Partial:</strong> {failed.map((s) => `${sourceLabel(s.source)} (${s.error})`).join(', ')} {failed.length === 1 ? 'is' : 'are'} missing. The
            rest is shown.
          </p>
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
      {stale.length > 0 && (
        <p class="notice notice-warn" data-state="stale">
          <strong>May be out of date:</strong> {stale.map(staleLabel).join(', ')} from the cache
          {stale.some((s) => !s.error) ? '; a refresh is on its way.' : '.'}
        </p>
      )}
      {refreshFailed && (
        <p class="notice notice-warn" data-state="refresh-failed">
          <strong>Not updated:</strong> {refreshFailed}
        </p>
      )}
    </div>
  );
}
