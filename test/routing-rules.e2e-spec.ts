import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config/config';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { sandboxConfig } from '../src/sandbox/sandbox-config';
import { startHarness, type Harness } from './support/harness';
import { eventually } from './support/twilio-callers';

/** ROUTING_RULES_FILE end to end: a broken file stops the start; an edit shows in the next decision. */

const rulesFile = (vipTier: string) => `
defaults: { tier: "standard" }
rules:
  - name: vip
    when: '"vip" in audiences'
    set:
      tier: '"${vipTier}"'
`;

describe('routing rules file (e2e)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-rules-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('with a syntax error', () => {
    let sandbox: Sandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ quiet: true, customers: 6 });
    });
    afterAll(() => sandbox.close());

    it('refuses to start, naming the file and the problem', async () => {
      const path = join(dir, 'rules.yaml');
      writeFileSync(path, 'rules:\n  - name: vip\n    when: [unclosed\n');
      const app = await createApp(sandboxConfig(loadConfig({ LOG_LEVEL: 'silent', ROUTING_RULES_FILE: path }), sandbox));
      try {
        await expect(app.init()).rejects.toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*YAML syntax error`));
      } finally {
        await app.close();
      }
    });
  });

  describe('hot reload', () => {
    let h: Harness;
    afterEach(() => h?.close());

    it('serves an edited rules file in the next preview', async () => {
      const path = join(dir, 'rules.yaml');
      writeFileSync(path, rulesFile('gold'));
      h = await startHarness({ sandbox: { customers: 6 }, env: { ROUTING_RULES_FILE: path } });
      const vip = h.sandbox.data.byArchetype('vip');
      const preview = async () => {
        const result = await h.gql<{ routingPreview: { attributes: { customer_context: { tier: string } }; explanations: Array<{ rule: string }> } }>(
          'query($lookup: CustomerLookupInput!) { routingPreview(lookup: $lookup) { attributes explanations { rule } } }',
          { lookup: { phone: vip.phone } },
        );
        return result.data?.routingPreview;
      };
      expect((await preview())?.attributes.customer_context.tier).toBe('gold');

      writeFileSync(path, `${rulesFile('platinum')}  - name: added_later\n    set:\n      marker: true\n`);
      const reloaded = await eventually(preview, (p) => p?.attributes.customer_context.tier === 'platinum');
      expect(reloaded?.explanations.map((e) => e.rule)).toEqual(['vip', 'added_later']);
    });
  });
});
