import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';

/** Twilio's OpenAPI documents that tests use, copied from github.com/twilio/twilio-oai (LICENSE beside them). */
export const TWILIO_OAI_FIXTURES = join(__dirname, '../fixtures/twilio-oai');

type Json = Record<string, unknown>;
type SchemaNode = Json | SchemaNode[];

/**
 * Twilio's OpenAPI documents mark no field required and allow extra ones, so a response with a
 * renamed or missing field would still pass. Here every object schema that lists properties
 * requires all of them and nothing else: the sandbox must return exactly the documented fields.
 * OpenAPI's `nullable` without a `type` means nothing to JSON Schema (Ajv refuses it), so it goes.
 */
export function tighten(node: unknown, refBase?: string): unknown {
  if (Array.isArray(node)) return node.map((n) => tighten(n, refBase));
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    // Annotations go; a property that happens to be called `description` (a schema, not a string) stays.
    if (key === 'examples' || key === 'example' || (key === 'description' && typeof value === 'string')) continue;
    out[key] = key === '$ref' && refBase && typeof value === 'string' ? refBase + value : tighten(value, refBase);
  }
  if (out.nullable === true && out.type === undefined) delete out.nullable;
  if (out.properties && typeof out.properties === 'object') {
    out.required = Object.keys(out.properties);
    out.additionalProperties = false;
  }
  return out;
}

/** Validators for an OAI document's operations: `response(path, method, status)`. */
export function openApi(ajv: Ajv, file: string, id: string): { response(path: string, method: string, status: number): ValidateFunction } {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    components: { schemas: Json };
    paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: SchemaNode }> }> }>>;
  };
  ajv.addSchema({ $id: id, components: { schemas: tighten(doc.components.schemas) } });
  return {
    response(path, method, status) {
      const schema = doc.paths[path]?.[method]?.responses[String(status)]?.content['application/json']?.schema;
      if (!schema) throw new Error(`${file} has no ${method} ${path} ${status}`);
      return ajv.compile(tighten(schema, id) as Json);
    },
  };
}
