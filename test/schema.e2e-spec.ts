import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printedSchema } from './support/schema';

describe('schema.graphql', () => {
  it('matches what the code generates (run `npm run schema` after changing GraphQL types)', async () => {
    const committed = readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(await printedSchema());
  });
});
