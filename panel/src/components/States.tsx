import type { ComponentChildren } from 'preact';

/** The panel's states without a customer to show. Each names itself in data-state for tests and styling. */

function StateMessage({ state, title, children }: { state: string; title: string; children: ComponentChildren }) {
  return (
    <div class="state" data-state={state}>
      <h1>{title}</h1>
      {children}
    </div>
  );
}

export function Loading() {
  return (
    <div class="state" data-state="loading" aria-busy="true">
      <p class="visually-hidden">Loading the customer…</p>
      <div class="skeleton skeleton-title" />
      <div class="skeleton skeleton-line" />
      <div class="skeleton skeleton-line short" />
      <div class="skeleton skeleton-block" />
      <div class="skeleton skeleton-block" />
    </div>
  );
}

export function Empty({ lookup }: { lookup: string }) {
  return (
    <StateMessage state="empty" title="No customer found">
      <p>Neither Segment nor Twilio knows {lookup}. This may be their first contact.</p>
    </StateMessage>
  );
}

export function Erased() {
  return (
    <StateMessage state="erased" title="Customer erased">
      <p>This customer asked to be forgotten: the service no longer holds their data, and does not look them up again for now.</p>
    </StateMessage>
  );
}

export function NoLookup() {
  return (
    <StateMessage state="no-lookup" title="No customer selected">
      <p>
        The panel shows the customer its URL names: add <code>taskSid</code>, <code>phone</code>, <code>email</code>, <code>userId</code> or{' '}
        <code>conversationSid</code> to the query string.
      </p>
    </StateMessage>
  );
}

export function SignIn({ embedded, fragmentToken }: { embedded: boolean; fragmentToken: boolean }) {
  return (
    <StateMessage state="signin" title="Sign-in needed">
      <p>
        {embedded
          ? 'Flex has not passed your session to this panel yet. Reloading Flex usually fixes it.'
          : 'Open this panel from Flex: it passes your session to the panel.'}
      </p>
      {fragmentToken && (
        <p class="muted small">
          Development mode: add <code>#token=</code> and a sandbox agent token to the address.
        </p>
      )}
    </StateMessage>
  );
}

export function Failed({ message, onRetry }: { message: string; onRetry(): void }) {
  return (
    <StateMessage state="failed" title="Could not load the customer">
      <p>{message}</p>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </StateMessage>
  );
}
