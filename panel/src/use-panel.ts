import { useEffect, useRef, useState } from 'preact/hooks';
import { changesBetween, type Changes } from './changes';
import { subscribeToChanges, type LiveState } from './live';
import type { CustomerLookup } from './lookup';
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
  | { state: 'ready'; context: CustomerContext; changes: Changes | null; refreshFailed: string | null };

/** How long a framed panel waits for its parent's token before it asks the agent to sign in. */
const TOKEN_WAIT_MS = 2_000;
/** Changes arrive in bursts (an identify and a track for one page view): one re-query for them. */
const REQUERY_DEBOUNCE_MS = 150;

export interface Panel {
  view: View;
  live: LiveState;
  retry(): void;
}

/** The panel's life: wait for a token, query, subscribe, re-query on every change. */
export function usePanel(settings: PanelSettings, lookup: CustomerLookup | null): Panel {
  const [token, setToken] = useState<string | null>(null);
  const [view, setView] = useState<View>(lookup ? { state: 'loading' } : { state: 'no-lookup' });
  const [live, setLive] = useState<LiveState>('offline');
  const tokens = useRef<TokenSource | null>(null);
  const shown = useRef<CustomerContext | null>(null);
  const erased = useRef(false);
  const loading = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });

  useEffect(() => {
    let received = false;
    const source = watchToken(settings, (value) => {
      received = true;
      setToken(value);
    });
    tokens.current = source;
    const timer = setTimeout(() => {
      if (!received && lookup) setView({ state: 'signin' });
    }, source.embedded ? TOKEN_WAIT_MS : 0);
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
        const result = await fetchContext(current, lookup);
        if (result.kind === 'unauthenticated') {
          setView({ state: 'signin' });
          tokens.current?.request();
          return;
        }
        const before = shown.current;
        if (result.kind === 'failed') {
          setView(before ? { state: 'ready', context: before, changes: null, refreshFailed: result.message } : { state: 'failed', message: result.message });
          continue;
        }
        shown.current = result.context;
        if (!result.context) setView({ state: erased.current ? 'erased' : 'empty' });
        else setView({ state: 'ready', context: result.context, changes: before ? changesBetween(before, result.context) : null, refreshFailed: null });
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
    const stop = subscribeToChanges(token, profileId, {
      onChange: (parts) => {
        if (parts?.includes('erased')) erased.current = true;
        requery();
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
