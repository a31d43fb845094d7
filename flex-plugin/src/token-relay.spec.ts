import { READY_MESSAGE, relayToken, TOKEN_MESSAGE, type MessageTarget } from './token-relay';

const PANEL = 'https://context.example.com';

/** A window's message events, delivered by hand; and windows that record what is posted to them. */
function host() {
  const listeners = new Set<(event: MessageEvent) => void>();
  const target: MessageTarget = { addEventListener: (_type, fn) => listeners.add(fn), removeEventListener: (_type, fn) => listeners.delete(fn) };
  const deliver = (event: { origin: string; data: unknown; source: unknown }) => listeners.forEach((fn) => fn(event as MessageEvent));
  return { target, deliver, listeners };
}
function frame() {
  const posted: Array<{ message: unknown; targetOrigin: string }> = [];
  return { posted, closed: false, postMessage: (message: unknown, targetOrigin: string) => posted.push({ message, targetOrigin }) };
}

describe(relayToken.name, () => {
  it("answers the panel's ready message with the current token, addressed to the panel's origin only", () => {
    const { target, deliver } = host();
    const panel = frame();
    let token = 'token-1';
    relayToken(target, PANEL, () => token);
    deliver({ origin: PANEL, data: { type: READY_MESSAGE }, source: panel });
    token = 'token-2';
    deliver({ origin: PANEL, data: { type: READY_MESSAGE }, source: panel });
    expect(panel.posted).toEqual([
      { message: { type: TOKEN_MESSAGE, token: 'token-1' }, targetOrigin: PANEL },
      { message: { type: TOKEN_MESSAGE, token: 'token-2' }, targetOrigin: PANEL },
    ]);
  });

  it('never answers another origin, nor a message that is not the ready message', () => {
    const { target, deliver } = host();
    const other = frame();
    const panel = frame();
    const relay = relayToken(target, PANEL, () => 'secret');
    deliver({ origin: 'https://evil.example.com', data: { type: READY_MESSAGE }, source: other });
    deliver({ origin: `${PANEL}.evil.example.com`, data: { type: READY_MESSAGE }, source: other });
    deliver({ origin: 'http://context.example.com', data: { type: READY_MESSAGE }, source: other });
    deliver({ origin: PANEL, data: { type: 'something-else' }, source: panel });
    deliver({ origin: PANEL, data: null, source: panel });
    deliver({ origin: PANEL, data: READY_MESSAGE, source: panel });
    relay.renewed('renewed');
    expect(other.posted).toEqual([]);
    expect(panel.posted).toEqual([]);
  });

  it('forwards a renewed token to every panel that asked, and to no other frame', () => {
    const { target, deliver } = host();
    const first = frame();
    const second = frame();
    const stranger = frame();
    const relay = relayToken(target, PANEL, () => 'old');
    deliver({ origin: PANEL, data: { type: READY_MESSAGE }, source: first });
    deliver({ origin: PANEL, data: { type: READY_MESSAGE }, source: second });
    deliver({ origin: 'https://evil.example.com', data: { type: READY_MESSAGE }, source: stranger });
    second.closed = true;
    relay.renewed('new');
    expect(first.posted.map((p) => p.message)).toEqual([
      { type: TOKEN_MESSAGE, token: 'old' },
      { type: TOKEN_MESSAGE, token: 'new' },
    ]);
    expect(first.posted.every((p) => p.targetOrigin === PANEL)).toBe(true);
    expect(second.posted.map((p) => p.message)).toEqual([{ type: TOKEN_MESSAGE, token: 'old' }]);
    expect(stranger.posted).toEqual([]);
  });

  it('sends nothing while Flex has no token, and stops listening when stopped', () => {
    const { target, deliver, listeners } = host();
    const panel = frame();
    const relay = relayToken(target, PANEL, () => undefined);
    deliver({ origin: PANEL, data: { type: READY_MESSAGE }, source: panel });
    expect(panel.posted).toEqual([]);
    relay.stop();
    expect(listeners.size).toBe(0);
  });
});
