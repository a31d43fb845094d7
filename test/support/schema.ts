import { GraphQLSchemaHost } from '@nestjs/graphql';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';

/** The schema the code builds, printed sorted: what schema.graphql must hold. */
export async function printedSchema(): Promise<string> {
  const app = await createApp(loadConfig({ LOG_LEVEL: 'silent' }));
  await app.init();
  try {
    const { schema } = app.get(GraphQLSchemaHost);
    return `${printSchema(lexicographicSortSchema(schema))}\n`;
  } finally {
    await app.close();
  }
}
