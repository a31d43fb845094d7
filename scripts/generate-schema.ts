import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printedSchema } from '../test/support/schema';

/** Writes schema.graphql from the code (`npm run schema`); a test fails when they differ. */
void printedSchema().then((schema) => {
  writeFileSync(join(__dirname, '..', 'schema.graphql'), schema);
  process.stdout.write('schema.graphql written\n');
  process.exit(0);
});
