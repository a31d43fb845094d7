import { viewerOf } from './viewer';

describe(viewerOf.name, () => {
  it('reads the worker and the most privileged role the auth guard put on the request', () => {
    expect(viewerOf({ principal: { workerSid: 'WK1', roles: ['agent', 'supervisor'] } })).toEqual({ workerSid: 'WK1', role: 'supervisor' });
    expect(viewerOf({ principal: { workerSid: 'WK1', roles: ['wfo.team_leader'] } })).toEqual({ workerSid: 'WK1', role: 'wfo.team_leader' });
  });

  it('is null where nothing is known: no guard yet, no worker, odd shapes', () => {
    const unknown = { workerSid: null, role: null };
    expect(viewerOf(undefined)).toEqual(unknown);
    expect(viewerOf({})).toEqual(unknown);
    expect(viewerOf({ principal: { workerSid: null, roles: [] } })).toEqual(unknown);
    expect(viewerOf({ principal: { workerSid: 42, roles: 'admin' } })).toEqual(unknown);
  });
});
