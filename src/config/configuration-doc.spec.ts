import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema } from './config';

/** docs/configuration.md is what operators read: it must name every variable the schema reads, with its real default. */
describe('docs/configuration.md', () => {
  const page = readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
  const rows = [...page.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/gm)].map((m) => ({ name: m[1], fallback: m[2].trim() }));
  const defaults = envSchema.parse({}) as Record<string, unknown>;
  const shown = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));

  it('has one row per variable of the schema, and none the schema does not read', () => {
    const documented = rows.map((r) => r.name);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  it.each(Object.keys(envSchema.shape))('gives the default of %s as the schema applies it', (name) => {
    const row = rows.find((r) => r.name === name);
    expect(row).toBeDefined();
    const literal = /^`([^`]*)`$/.exec(row!.fallback);
    if (defaults[name] === undefined) expect(row!.fallback).toMatch(/^unset\b/);
    else expect(literal?.[1]).toBe(shown(defaults[name]));
  });

  it('.env.example names only variables the schema reads', () => {
    const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const names = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(Object.keys(envSchema.shape)).toContain(name);
  });
});
