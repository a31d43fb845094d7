import { auditServer, type AuditResult } from 'graphql-http';
import { startHarness, type Harness } from './support/harness';

/**
 * The GraphQL over HTTP specification, checked by graphql-http's own audit suite against the
 * running service. Every MUST passes; the SHOULDs it does not meet are listed in the README
 * ("GraphQL over HTTP") with the reason. The audit introspects the schema, so introspection is
 * on for this service only.
 */
describe('GraphQL over HTTP (graphql-http audit, e2e)', () => {
  let h: Harness;
  let results: AuditResult[];

  beforeAll(async () => {
    h = await startHarness({ env: { GRAPHQL_INTROSPECTION: 'true' } });
    const token = h.sandbox.credentials.agentToken;
    // The audit speaks as an agent: a stranger would get 401 before anything the spec describes.
    const fetchFn = (input: string | URL | Request, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    results = await auditServer({ url: `${h.url}/graphql`, fetchFn });
  });
  afterAll(() => h.close());

  it('passes every MUST', () => {
    const musts = results.filter((result) => result.name.startsWith('MUST'));
    expect(musts.length).toBeGreaterThan(10);
    const failed = musts.filter((result) => result.status !== 'ok').map((result) => `${result.id} ${result.name}: ${'reason' in result ? result.reason : ''}`);
    expect(failed).toEqual([]);
  });

  it('accepts null extensions and null variables in a POST body', async () => {
    for (const body of [
      { query: '{ __typename }', extensions: null },
      { query: '{ __typename }', variables: null },
    ]) {
      const response = await fetch(`${h.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${h.sandbox.credentials.agentToken}` },
        body: JSON.stringify(body),
      });
      expect({ body, status: response.status, answer: await response.json() }).toEqual({ body, status: 200, answer: { data: { __typename: 'Query' } } });
    }
  });
});
