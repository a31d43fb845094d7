/**
 * JSON of list items, serialized once per item and version. List answers are mostly items,
 * so a page becomes a join of cached strings instead of a fresh JSON.stringify of every item.
 */
export class WireCache<K extends object> {
  private readonly entries = new WeakMap<K, { version: string; json: string }>();

  /** `version` names what the item's JSON depends on besides itself ('' for immutable items). */
  json(item: K, version: string, build: (item: K) => unknown): string {
    const cached = this.entries.get(item);
    if (cached && cached.version === version) return cached.json;
    const json = JSON.stringify(build(item));
    this.entries.set(item, { version, json });
    return json;
  }
}

/** `{"<key>":[items...],<rest>}` from already serialized items. */
export function listBody(key: string, items: string[], rest: Record<string, unknown>): string {
  let body = `{"${key}":[${items.join(',')}]`;
  for (const [name, value] of Object.entries(rest)) body += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  return body + '}';
}
