import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import { identifierShape, maskValue } from './masking';

/**
 * Which customer data each Flex role sees (ACCESS_POLICY_FILE; format in
 * config/access-policy.example.yaml). Rules are globs over dotted paths (`email`, `address.city`,
 * `customers.phone`): deny hides, mask shows masked, allow shows; deny beats mask beats allow,
 * and a rule on an object covers everything inside it. A caller with several roles sees the union.
 * Trait deny and mask patterns apply at any depth (`email` also covers `billing.email`): Segment
 * traits nest the same names. Event properties carry the same data under the same names (an
 * `Order Completed` with an `email` and a `shipping.phone`): a role without its own `events` rules
 * gets its trait deny and mask lists applied to them at any depth, everything else shown. Objects
 * inside arrays, arrays inside arrays included, are checked under the array's path (`products.email`). A role's optional `conversations` rules
 * cover the free text of conversations (`friendlyName`, `messages.body`); without them it is shown.
 */

const pattern = z.string().trim().min(1).max(200);
const rulesSchema = z.object({ allow: z.array(pattern).default([]), deny: z.array(pattern).default([]), mask: z.array(pattern).default([]) }).strict();
const roleSchema = z
  .object({
    traits: rulesSchema.default({ allow: [], deny: [], mask: [] }),
    attributes: rulesSchema.default({ allow: [], deny: [], mask: [] }),
    events: rulesSchema.optional(),
    conversations: rulesSchema.optional(),
  })
  .strict();
// `consent`: the consent rules, read and checked by src/consent/consent.ts.
const fileSchema = z.object({ roles: z.record(z.string().min(1), roleSchema), consent: z.unknown().optional() }).strict();

interface Rules {
  allow: RegExp[];
  deny: RegExp[];
  mask: RegExp[];
  /** allow has `*` and nothing is denied or masked: the data passes untouched. */
  open: boolean;
}
interface RoleRules {
  traits: Rules;
  attributes: Rules;
  events: Rules;
  conversations: Rules;
}

/** The conversation fields `conversations` rules apply to, by path. */
export type ConversationPath = 'friendlyName' | 'messages.body';

type Visibility = 'hide' | 'mask' | 'descend' | 'show';
const RANK: Record<Visibility, number> = { hide: 0, mask: 1, descend: 2, show: 3 };

/** `*` is any run of characters (dots included), `?` one character; case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function compile(rules: z.infer<typeof rulesSchema>): Rules {
  return {
    allow: rules.allow.map(globToRegExp),
    deny: rules.deny.map(globToRegExp),
    mask: rules.mask.map(globToRegExp),
    open: rules.allow.includes('*') && rules.deny.length === 0 && rules.mask.length === 0,
  };
}

/** `email` → `email` and `*.email`: the same name wherever it is nested. */
const atAnyDepth = (patterns: string[]) => patterns.flatMap((p) => [p, `*.${p}`]);

/**
 * A caller's role set as a cache key: sorted, without repeats, JSON-encoded, so that a role
 * named `agent,supervisor` never reads as the two roles it spells.
 */
export function roleSetKey(roles: readonly string[]): string {
  return JSON.stringify([...new Set(roles)].sort());
}

export class AccessPolicyError extends Error {
  override name = 'AccessPolicyError';
}

export class AccessPolicy {
  private readonly views = new Map<string, PolicyView>();

  private constructor(
    private readonly roles: ReadonlyMap<string, RoleRules>,
    /** Without a policy file every authenticated caller sees everything, as before this policy. */
    readonly unrestricted: boolean,
  ) {}

  static unrestrictedPolicy(): AccessPolicy {
    return new AccessPolicy(new Map(), true);
  }

  static parse(text: string, source = 'access policy'): AccessPolicy {
    let raw: unknown;
    try {
      raw = parse(text);
    } catch (error) {
      throw new AccessPolicyError(`${source}: not YAML: ${(error as Error).message}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ');
      throw new AccessPolicyError(`${source}: ${issues}`);
    }
    const roles = new Map(
      Object.entries(parsed.data.roles).map(([name, r]) => [
        name,
        {
          traits: compile({ ...r.traits, deny: atAnyDepth(r.traits.deny), mask: atAnyDepth(r.traits.mask) }),
          attributes: compile(r.attributes),
          events: compile(r.events ?? { allow: ['*'], deny: atAnyDepth(r.traits.deny), mask: atAnyDepth(r.traits.mask) }),
          conversations: compile(r.conversations ?? { allow: ['*'], deny: [], mask: [] }),
        },
      ]),
    );
    return new AccessPolicy(roles, false);
  }

  static load(path: string | undefined): AccessPolicy {
    if (!path) return AccessPolicy.unrestrictedPolicy();
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new AccessPolicyError(`ACCESS_POLICY_FILE ${path}: ${(error as Error).message}`);
    }
    return AccessPolicy.parse(text, `ACCESS_POLICY_FILE ${path}`);
  }

  /** What one caller may see; a missing caller (never past the guard) sees nothing. */
  viewFor(principal: Principal | null): PolicyView {
    const roles = principal?.roles ?? [];
    const key = roleSetKey(roles);
    let view = this.views.get(key);
    if (!view) {
      const known = roles.flatMap((r) => this.roles.get(r) ?? []);
      view = this.unrestricted
        ? PolicyView.OPEN
        : new PolicyView(
            known.map((r) => r.traits),
            known.map((r) => r.attributes),
            known.map((r) => r.events),
            known.map((r) => r.conversations),
          );
      // Role sets are few (agent, supervisor, admin and their mixes); unknown junk is not cached.
      if (this.views.size < 64) this.views.set(key, view);
    }
    return view;
  }
}

export class PolicyView {
  static readonly OPEN = new PolicyView(null, null, null, null);

  constructor(
    /** One entry per role of the caller; null: no restriction at all. */
    private readonly traitRules: Rules[] | null,
    private readonly attributeRules: Rules[] | null,
    private readonly eventRules: Rules[] | null,
    private readonly conversationRules: Rules[] | null,
  ) {}

  traits(traits: Record<string, unknown>): Record<string, unknown> {
    return filter(this.traitRules, traits);
  }

  attributes(attributes: Record<string, unknown>): Record<string, unknown> {
    return filter(this.attributeRules, attributes);
  }

  /** An event's properties (in `events`, the journey and subscription pushes alike). */
  eventProperties(properties: Record<string, unknown>): Record<string, unknown> {
    return filter(this.eventRules, properties);
  }

  /** An external id (or `resolvedBy`) follows the trait rules for its type: `email`, `phone`... */
  externalId(type: string, id: string): string | null {
    return leaf(this.traitRules, type, id);
  }

  /**
   * An account's group id (`Account.groupId`): the trait rules at `account.group_id`, the account's
   * traits' naming (so `group_id` in a deny or mask list reaches it, and an allow list must name it:
   * `account.*` or `account.group_id`). A group id is whatever the customer's code passed to
   * `group()`: a domain, an account number, or an email or phone number. One written as an email or
   * an E.164 phone number is also held to the trait rules of that type, like an external id of it;
   * the stricter of the two wins. Null: hidden.
   */
  groupId(id: string): string | null {
    const shape = identifierShape(id);
    const visibility = Math.min(RANK[leafVisibility(this.traitRules, 'account.group_id')], shape ? RANK[leafVisibility(this.traitRules, shape)] : RANK.show);
    return visibility === RANK.show ? id : visibility === RANK.mask ? String(maskValue(id)) : null;
  }

  /** A conversation's free text: its `friendlyName`, a message's body (`messages.body`). */
  conversationText(path: ConversationPath, text: string): string | null {
    return leaf(this.conversationRules, path, text);
  }
}

/** One string value at `path`: shown, masked or hidden (null), the most any role allows. */
function leaf(rules: Rules[] | null, path: string, value: string): string | null {
  const visibility = leafVisibility(rules, path);
  return visibility === 'show' ? value : visibility === 'mask' ? String(maskValue(value)) : null;
}

/** What the roles allow for one value at `path`: show, mask or hide, the most any role allows. */
function leafVisibility(rules: Rules[] | null, path: string): 'show' | 'mask' | 'hide' {
  if (rules === null || rules.some((r) => r.open)) return 'show';
  return combine(
    rules.map((r) => visibilityOf(r, path, 'descend')),
    false,
  ) as 'show' | 'mask' | 'hide';
}

function filter(rules: Rules[] | null, value: Record<string, unknown>): Record<string, unknown> {
  if (rules === null || rules.some((r) => r.open)) return value;
  // A shown or masked object still has to be opened when a deny or mask rule may match inside it.
  const innerRules = rules.some((r) => r.deny.length > 0 || r.mask.length > 0);
  return (
    walk(
      rules,
      innerRules,
      value,
      '',
      rules.map(() => 'descend'),
    ) ?? {}
  );
}

function walk(
  rules: Rules[],
  innerRules: boolean,
  object: Record<string, unknown>,
  prefix: string,
  parents: Visibility[],
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const states = rules.map((r, i) => visibilityOf(r, path, parents[i]));
    const nested = isPlainObject(value);
    const visibility = combine(states, nested);
    if (visibility === 'hide') continue;
    const result =
      nested && (visibility === 'descend' || innerRules)
        ? walk(rules, innerRules, value, path, states)
        : visibility === 'mask'
          ? maskValue(value)
          : Array.isArray(value) && innerRules
            ? walkArray(rules, innerRules, value, path, states)
            : value;
    if (result === undefined) continue;
    out[key] = result;
    kept++;
  }
  return kept > 0 || prefix === '' ? out : undefined;
}

/** An array's items sit under the array's own path, however deeply arrays nest. */
function walkArray(rules: Rules[], innerRules: boolean, items: unknown[], path: string, states: Visibility[]): unknown[] {
  return items.map((item) =>
    isPlainObject(item) ? (walk(rules, innerRules, item, path, states) ?? {}) : Array.isArray(item) ? walkArray(rules, innerRules, item, path, states) : item,
  );
}

function visibilityOf(rules: Rules, path: string, parent: Visibility): Visibility {
  if (parent === 'hide' || rules.deny.some((r) => r.test(path))) return 'hide';
  if (parent === 'mask' || rules.mask.some((r) => r.test(path))) return 'mask';
  if (parent === 'show' || rules.allow.some((r) => r.test(path))) return 'show';
  return 'descend';
}

/** The most any role allows; "descend" means nothing yet, which is nothing for a leaf. */
function combine(states: Visibility[], nested: boolean): Visibility {
  let best: Visibility = 'hide';
  for (const state of states) if (RANK[state] > RANK[best]) best = state;
  return best === 'descend' && !nested ? 'hide' : best;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
