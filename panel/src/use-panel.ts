import { useEffect, useRef, useState } from 'preact/hooks';
import { changesBetween, type Changes } from './changes';
import { subscribeToChanges, type LiveState } from './live';
import type { CustomerLookup } from './lookup';
import { applyChange, type PushedChange } from './patch';
import { fetchContext, type CustomerContext } from './query';
import type { PanelSettings } from './settings';
import { watchToken, type TokenSource } from './token';

export type View =
  | { state: 'no-lookup' }
  | { state: 'loading' }
  | { state: 'signin' }
  | { state: 'failed'; message: string }
  | { state: 'empty' }
  /** The customer was erased while the panel showed them (a push said so); nothing of them is left. */
  | { state: 'erased' }
  | {
      state: 'ready';
      context: CustomerContext;
      changes: Changes | null;
      refreshFailed: string | null;
      /** Pushed values are shown that no answer has confirmed yet (a re-query is on its way). */
      unconfirmed: boolean;
    };

/** How long a framed panel waits for its parent's token before it asks the agent to sign in. */
const TOKEN_WAIT_MS = 2_000;
/**
 * Changes arrive in bursts (an identify and a track for one page view): one re-query for them. Only
 * the reconciling query waits; what a push carries is on screen at once.
 */
const REQUERY_DEBOUNCE_MS = 150;

/**
 * What to highlight: what an update brought since the last answer, or, when it brought nothing
 * the agent can see (a second query after a burst), what was highlighted already.
 */
function highlighted(view: View, since: CustomerContext | null, now: CustomerContext): Changes | null {
  if (!since) return null;
  const changes = changesBetween(since, now);
  return changes.keys.size === 0 && view.state === 'ready' ? view.changes : changes;
}

export interface Panel {
  view: View;
  live: LiveState;
  retry(): void;
}

/** The panel's life: wait for a token, query, subscribe, show each pushed change and re-query behind it. */
export function usePanel(settings: PanelSettings, lookup: CustomerLookup | null): Panel {
  const [token, setToken] = useState<string | null>(null);
  const [view, setView] = useState<View>(lookup ? { state: 'loading' } : { state: 'no-lookup' });
  const [live, setLive] = useState<LiveState>('offline');
  const tokens = useRef<TokenSource | null>(null);
  const shown = useRef<CustomerContext | null>(null);
  const erased = useRef(false);
  /** The last answer as the service gave it: what is highlighted as new is measured from it. */
  const answered = useRef<CustomerContext | null>(null);
  /** Pushes applied while a query runs: its answer may predate them, so they are applied on it again. */
  const duringQuery = useRef<PushedChange[]>([]);
  const loading = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });

  useEffect(() => {
    let received = false;
    const source = watchToken(settings, (value) => {
      received = true;
      setToken(value);
    });
    tokens.current = source;
    const timer = setTimeout(
      () => {
        if (!received && lookup) setView({ state: 'signin' });
      },
      source.embedded ? TOKEN_WAIT_MS : 0,
    );
    return () => {
      clearTimeout(timer);
      source.stop();
    };
  }, []);

  const load = async (current: string) => {
    if (!lookup) return;
    const state = loading.current;
    if (state.running) {
      state.again = true;
      return;
    }
    state.running = true;
    try {
      do {
        state.again = false;
        duringQuery.current = [];
        const result = await fetchContext(current, lookup);
        if (result.kind === 'unauthenticated') {
          setView({ state: 'signin' });
          tokens.current?.request();
          return;
        }
        const before = answered.current;
        if (result.kind === 'failed') {
          const kept = shown.current;
          setView(
            kept
              ? { state: 'ready', context: kept, changes: null, refreshFailed: result.message, unconfirmed: kept !== answered.current }
              : { state: 'failed', message: result.message },
          );
          continue;
        }
        answered.current = result.context;
        // Idempotent: a push the answer already has changes nothing; one it cannot take was followed by a query.
        const context = result.context && duringQuery.current.reduce((shownSoFar, change) => applyChange(shownSoFar, change) ?? shownSoFar, result.context);
        shown.current = context;
        if (!context) setView({ state: erased.current ? 'erased' : 'empty' });
        else
          setView((view) => ({
            state: 'ready',
            context,
            changes: highlighted(view, before, context),
            refreshFailed: null,
            unconfirmed: context !== result.context,
          }));
      } while (state.again);
    } finally {
      state.running = false;
    }
  };

  useEffect(() => {
    if (!token) return;
    setView((current) => (current.state === 'signin' || current.state === 'failed' ? { state: 'loading' } : current));
    void load(token);
  }, [token]);

  const profileId = view.state === 'ready' ? view.context.profileId : null;
  useEffect(() => {
    if (!token || !profileId) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const requery = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void load(token), REQUERY_DEBOUNCE_MS);
    };
    const requeryNow = () => {
      clearTimeout(timer);
      void load(token);
    };
    const stop = subscribeToChanges(token, profileId, {
      onChange: (change) => {
        if (change?.parts?.includes('erased')) erased.current = true;
        const current = shown.current;
        const patched = change && current ? applyChange(current, change) : null;
        if (!change || !patched || !current) return requeryNow();
        if (loading.current.running) duringQuery.current.push(change);
        if (patched !== current) {
          shown.current = patched;
          const since = answered.current;
          setView((view) => (view.state === 'ready' ? { ...view, context: patched, changes: highlighted(view, since, patched), unconfirmed: true } : view));
        }
        requery();
      },
      onExpired: () => {
        setLive('offline');
        // Flex hands a framed panel a fresh token (which starts a new socket); elsewhere a query
        // meets the expiry too and asks the agent to sign in.
        if (tokens.current?.embedded) tokens.current.request();
        else requeryNow();
      },
      onState: (state) => {
        setLive(state);
        // A dropped socket may mean an expired token (its reconnects are then refused, silently)
        // or a service gone: a query says which, asks Flex for a new token or shows the failure.
        if (state === 'offline') requery();
      },
    });
    return () => {
      clearTimeout(timer);
      stop();
      setLive('offline');
    };
  }, [token, profileId]);

  const retry = () => {
    if (!token) return tokens.current?.request();
    setView((current) => (current.state === 'failed' ? { state: 'loading' } : current));
    void load(token);
  };
  return { view, live, retry };
}
