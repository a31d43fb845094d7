import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, GraphQLObjectType } from 'graphql';
import { CONTEXT_PARTS } from './tracking-plan';

describe('tracking plan', () => {
  it("names every field of CustomerContext as a part (a field left out is silently missing from a view's parts)", () => {
    const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
    const type = schema.getType('CustomerContext') as GraphQLObjectType;
    expect([...CONTEXT_PARTS].sort()).toEqual(Object.keys(type.getFields()).sort());
  });
});
