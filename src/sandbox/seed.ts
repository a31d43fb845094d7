import { Random } from './random';

/**
 * Deterministic demo data. Every customer is generated from its own random stream
 * (seed, index), so the same seed gives the same customers, ids and timestamps (relative to
 * `now`) whatever the customer count.
 */

export type Archetype = 'vip' | 'new' | 'anonymous_only' | 'whatsapp_only' | 'no_profile' | 'long_history' | 'regular';
export type MessagingChannel = 'sms' | 'whatsapp';
export type ConversationState = 'active' | 'inactive' | 'closed';
export type TaskAssignmentStatus = 'pending' | 'reserved' | 'assigned' | 'canceled' | 'completed' | 'wrapping';

export interface SegmentExternalIdRef {
  collection: 'users';
  type: string;
  id: string;
  encoding: 'none';
}

/** One event as the Profile API returns it (snake_case keys, unlike the Segment Spec). */
export interface SegmentEventWire {
  type: 'track' | 'page';
  event: string;
  message_id: string;
  source_id: string;
  timestamp: string;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
  external_ids: SegmentExternalIdRef[];
  related: { users: string };
}

export interface SandboxMessage {
  sid: string;
  index: number;
  author: string;
  body: string;
  participantSid: string | null;
  dateCreated: string;
}

export interface SandboxParticipant {
  sid: string;
  /** Conversations SDK users (agents) have an identity and no messaging binding. */
  identity: string | null;
  userSid: string | null;
  messagingBinding: { type: MessagingChannel; address: string; proxy_address: string } | null;
  dateCreated: string;
}

export interface SandboxConversation {
  sid: string;
  customerIndex: number;
  channel: MessagingChannel;
  /** The customer's messaging address: `+E164` for SMS, `whatsapp:+E164` for WhatsApp. */
  address: string;
  friendlyName: string;
  state: ConversationState;
  attributes: string;
  dateCreated: string;
  dateUpdated: string;
  customer: SandboxParticipant;
  agent: SandboxParticipant;
  messages: SandboxMessage[];
}

/** A TaskRouter task; the sandbox updates it in place, `version` is its ETag. */
export interface SandboxTask {
  sid: string;
  customerIndex: number | null;
  attributes: string;
  assignmentStatus: TaskAssignmentStatus;
  priority: number;
  reason: string | null;
  timeout: number;
  taskChannel: string;
  dateCreated: string;
  dateUpdated: string;
  version: number;
}

export interface SandboxCustomer {
  index: number;
  archetype: Archetype;
  /** 'use_' + 27 base62 chars; null = Segment has no profile (known only to Twilio). */
  profileId: string | null;
  userId: string | null;
  email: string | null;
  /** E.164 */
  phone: string | null;
  anonymousIds: string[];
  name: string | null;
  /** Plain traits including computed traits (see COMPUTED_TRAITS). */
  traits: Record<string, unknown>;
  /** Audience key -> membership; Segment also returns these as boolean traits. */
  audiences: Record<string, boolean>;
  /** Newest first, Profile API wire shape. */
  events: SegmentEventWire[];
  conversations: SandboxConversation[];
  tasks: SandboxTask[];
  /** When the profile was created (ISO); drives `/metadata`. */
  createdAt: string;
  /** Traits last set at a time of their own (ISO), e.g. long ago; the others were set lately (`/traits?verbose=true`). */
  traitsUpdatedAt: Record<string, string>;
  /** The `group_id`s of the accounts the customer is linked to (`/links`), in order. */
  accounts: string[];
}

/** An account profile (Segment's `accounts` collection, made by group calls). */
export interface SandboxAccount {
  groupId: string;
  traits: Record<string, unknown>;
  /** When the user was linked to it and the group id first seen (ISO). */
  createdAt: string;
}

export interface SandboxAgent {
  identity: string;
  name: string;
  workerSid: string;
  userSid: string;
}

/** Account-wide ids and secrets shared by every customer. */
export interface SandboxWorld {
  spaceId: string;
  accessToken: string;
  writeKey: string;
  accountSid: string;
  authToken: string;
  chatServiceSid: string;
  messagingServiceSid: string;
  workspaceSid: string;
  workflowSid: string;
  workflowFriendlyName: string;
  taskQueueSid: string;
  taskQueueFriendlyName: string;
  /** unique name -> TC sid */
  taskChannels: Record<string, string>;
  roleSids: { channelUser: string; agent: string };
  flexInstanceSid: string;
  sources: { web: string; server: string; personas: string };
  /** Business accounts some demo customers belong to (the VIP's is an enterprise one). */
  accounts: SandboxAccount[];
  /** The contact center's own numbers (never a customer's). */
  smsNumber: string;
  whatsappNumber: string;
  agents: SandboxAgent[];
}

export interface SeedOptions {
  customers: number;
  seed: number;
  now: Date;
  phoneIdType: string;
}

export const COMPUTED_TRAITS: ReadonlySet<string> = new Set([
  'lifetime_value',
  'churn_risk',
  'last_purchase_at',
  'orders_count',
  'avg_order_value',
  'emails_opened_last_30_days',
  'days_since_last_seen',
  'preferred_channel',
]);

const AUDIENCES = ['vip', 'high_value', 'churn_risk_high', 'newsletter_subscribers', 'cart_abandoners', 'recent_buyers'];
const FIRST_NAMES = [
  'Ava',
  'Liam',
  'Olivia',
  'Noah',
  'Emma',
  'Mateo',
  'Sofia',
  'Lucas',
  'Mia',
  'Ethan',
  'Isabella',
  'Leo',
  'Amara',
  'Kenji',
  'Priya',
  'Omar',
  'Chloe',
  'Diego',
  'Hana',
  'Samuel',
  'Zoe',
  'Ibrahim',
  'Nora',
  'Felix',
];
const LAST_NAMES = [
  'Thompson',
  'Garcia',
  'Nguyen',
  'Okafor',
  'Schmidt',
  'Rossi',
  'Kowalski',
  'Tanaka',
  'Silva',
  'Haddad',
  'Patel',
  'Johansson',
  'Murphy',
  'Dubois',
  'Kim',
  'Fernandez',
  'Novak',
  'Adeyemi',
  'Larsen',
  'Moreau',
];
const CITIES: ReadonlyArray<[string, string]> = [
  ['Chicago', 'US'],
  ['Austin', 'US'],
  ['Seattle', 'US'],
  ['Denver', 'US'],
  ['Boston', 'US'],
  ['Atlanta', 'US'],
  ['Portland', 'US'],
  ['Miami', 'US'],
];
const LANGUAGES = ['en', 'en', 'en', 'en', 'es', 'fr', 'de'];
const PLANS = ['free', 'basic', 'pro', 'enterprise'];
const PRODUCTS: ReadonlyArray<{ product_id: string; name: string; price: number; category: string }> = [
  { product_id: 'sku-1001', name: 'Trail Running Shoes', price: 129, category: 'Footwear' },
  { product_id: 'sku-1002', name: 'Rain Jacket', price: 189, category: 'Outerwear' },
  { product_id: 'sku-1003', name: 'Merino Base Layer', price: 79, category: 'Apparel' },
  { product_id: 'sku-1004', name: 'Daypack 22L', price: 99, category: 'Bags' },
  { product_id: 'sku-1005', name: 'Insulated Bottle', price: 35, category: 'Accessories' },
  { product_id: 'sku-1006', name: 'Camp Stove', price: 149, category: 'Gear' },
];
const PAGES: ReadonlyArray<[string, string]> = [
  ['Home', '/'],
  ['Pricing', '/pricing'],
  ['Shoes', '/c/footwear'],
  ['Jackets', '/c/outerwear'],
  ['Help Center', '/help'],
  ['Order Status', '/orders'],
];
const CUSTOMER_LINES = [
  'Hi, where is my order?',
  'I need to change my delivery address.',
  'Can I return the jacket I bought?',
  'The discount code does not work.',
  'Thanks, that helps!',
  'Is this item back in stock?',
  'Hola, necesito ayuda con mi pedido.',
  'Could you resend the receipt?',
];
const AGENT_LINES = [
  'Happy to help! Let me check that for you.',
  'I have updated that for you.',
  'Could you confirm the order number?',
  'Your refund is on its way.',
  'Anything else I can help with?',
  'Thanks for your patience.',
];
// Real US area codes; 555-0100..0199 is reserved as fictional in every one of them.
const AREA_CODES = (
  '201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 234 239 240 248 251 252 253 254 256 260 262 267 269 270 ' +
  '272 276 281 301 302 303 304 305 307 308 309 310 312 313 314 315 316 317 318 319 320 321 323 325 330 331 334 336 337 339 347 351 352 360 361 385 ' +
  '386 401 402 404 405 406 407 408 409 410 412 413 414 417 419 423 424 425 430 432 434 435 440 442 443 458 469 470 475 478 479 480 484 501 502 503 ' +
  '504 505 507 508 509 510 512 513 515 516 517 518 520 530 534 539 540 541 551 559 561 562 563 567 570 571 573 574 575 580 585 586 601 602 603 605 ' +
  '606 607 608 609 610 612 614 615 616 617 618 619 620 623 626 628 629 630 631 636 641 646 650 651 657 660 661 662 667 669 678 681 682 701 702 703 ' +
  '704 706 707 708 712 713 714 715 716 717 718 719 720 724 725 727 731 732 734 737 740 747 754 757 760 762 763 765 769 770 772 773 774 775 779 781 ' +
  '785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828 830 831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870 ' +
  '872 878 901 903 904 906 907 908 909 910 912 913 914 915 916 917 918 919 920 925 928 929 931 936 937 940 941 947 949 951 952 954 956 970 971 972 ' +
  '973 978 979 980 985 989'
).split(' ');

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Segment's Profile API keeps 14 days of events. */
const EVENT_WINDOW = 14 * DAY;

// 555 and the N11 service codes are not assignable exchanges.
const EXCHANGES = Array.from({ length: 800 }, (_, i) => 200 + i).filter((e) => e !== 555 && e % 100 !== 11);

/**
 * A valid E.164 number (libphonenumber-js agrees) that is unique per `n`. The first ~29,000 are
 * the fictional 555-01XX numbers; beyond that, ordinary numbers in the same area codes.
 * The sandbox's own numbers use area code 415, which is not in the list, so never collide.
 */
export function phoneNumber(n: number): string {
  const area = AREA_CODES[n % AREA_CODES.length];
  const k = Math.floor(n / AREA_CODES.length);
  if (k < 100) return `+1${area}55501${String(k).padStart(2, '0')}`;
  const m = k - 100;
  return `+1${area}${EXCHANGES[Math.floor(m / 10_000)]}${String(m % 10_000).padStart(4, '0')}`;
}
export const twilioDate = (ms: number): string => new Date(ms).toISOString().slice(0, 19) + 'Z';
const isoDate = (ms: number): string => new Date(ms).toISOString();

// Stream labels above any customer index, for data that is not a customer's.
const WORLD_STREAM = 0x7fff_fff0;
/** More streams per customer, for the data generated on first read. */
const EVENT_STREAM = 1;
const MESSAGE_STREAM = 2;

/**
 * An own, enumerable property computed on first read (spread, JSON and toEqual see the value);
 * assigning replaces it.
 */
function lazyProperty<T extends object, K extends keyof T>(target: T, key: K, make: () => T[K]): void {
  let value: T[K] | undefined;
  let made = false;
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!made) {
        value = make();
        made = true;
      }
      return value;
    },
    set: (next: T[K]) => {
      value = next;
      made = true;
    },
  });
}

export function seedWorld(seed: number): SandboxWorld {
  const rng = Random.derive(seed, WORLD_STREAM);
  const agentNames = ['Alice Chen', 'Bruno Costa', 'Carmen Ortiz', 'Dev Sharma', 'Elena Petrova', 'Farid Rahimi'];
  return {
    spaceId: 'spa_' + rng.base62(22),
    accessToken: 'sandbox-profile-token-' + rng.base62(24),
    writeKey: rng.base62(32),
    accountSid: rng.sid('AC'),
    authToken: rng.hex(32),
    chatServiceSid: rng.sid('IS'),
    messagingServiceSid: rng.sid('MG'),
    workspaceSid: rng.sid('WS'),
    workflowSid: rng.sid('WW'),
    workflowFriendlyName: 'Assign to Anyone',
    taskQueueSid: rng.sid('WQ'),
    taskQueueFriendlyName: 'Everyone',
    taskChannels: Object.fromEntries(['default', 'voice', 'chat', 'sms', 'email', 'video'].map((name) => [name, rng.sid('TC')])),
    roleSids: { channelUser: rng.sid('RL'), agent: rng.sid('RL') },
    flexInstanceSid: rng.sid('GO'),
    sources: { web: rng.base62(10), server: rng.base62(10), personas: rng.base62(10) },
    smsNumber: '+14155550100',
    whatsappNumber: '+14155238886',
    agents: agentNames.map((name) => ({
      name,
      identity: name.toLowerCase().replace(' ', '.') + '@contoso-support.example',
      workerSid: rng.sid('WK'),
      userSid: rng.sid('US'),
    })),
    // Drawn after everything above, so adding accounts changed none of the other ids.
    accounts: [
      {
        groupId: 'grp_' + rng.base62(12),
        traits: { name: 'Northwind Outfitters', plan: 'enterprise', tier: 'enterprise', industry: 'Retail', employees: 1200, region: 'NA' },
        createdAt: '2024-03-04T15:20:00.000Z',
      },
      {
        groupId: 'grp_' + rng.base62(12),
        traits: { name: 'Contoso Logistics', plan: 'business', tier: 'mid_market', industry: 'Logistics', employees: 340, region: 'EMEA' },
        createdAt: '2025-01-13T09:05:00.000Z',
      },
    ],
  };
}

export function seedCustomers(world: SandboxWorld, options: SeedOptions): SandboxCustomer[] {
  const fixed: Archetype[] = ['vip', 'new', 'anonymous_only', 'whatsapp_only', 'no_profile', 'long_history'];
  const customers = new Array<SandboxCustomer>(options.customers);
  for (let index = 0; index < options.customers; index++) {
    const generator = new CustomerGenerator(world, options, index);
    customers[index] = generator.build(fixed[index] ?? 'regular');
  }
  // The customer of the Intelligence and Copilot demos buys for a business account too, so one
  // panel shows what the last contact left, its sentiment and the account.
  const recap = customers.find(isRecapDemo);
  if (recap && world.accounts[1]) recap.accounts = [world.accounts[1].groupId];
  return customers;
}

/** The customer the demo transcript and wrap-up notes are about: the first regular one with a profile, a user id and a phone. */
export const isRecapDemo = (c: SandboxCustomer): boolean => Boolean(c.profileId && c.userId && c.phone && c.archetype === 'regular');

/** Builds one customer from its own random stream. */
class CustomerGenerator {
  private readonly rng: Random;
  private readonly now: number;
  private readonly customer: SandboxCustomer;

  constructor(
    private readonly world: SandboxWorld,
    private readonly options: SeedOptions,
    index: number,
  ) {
    this.rng = Random.derive(options.seed, index);
    this.now = options.now.getTime();
    this.customer = {
      index,
      archetype: 'regular',
      profileId: null,
      userId: null,
      email: null,
      phone: null,
      anonymousIds: [],
      name: null,
      traits: {},
      audiences: {},
      events: [],
      conversations: [],
      tasks: [],
      createdAt: '',
      traitsUpdatedAt: {},
      accounts: [],
    };
  }

  build(archetype: Archetype): SandboxCustomer {
    const c = this.customer;
    const rng = this.rng;
    c.archetype = archetype;
    c.profileId = 'use_' + rng.base62(27);
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const createdAtMs = this.now - rng.int(20, 900) * DAY;
    c.createdAt = isoDate(createdAtMs);
    switch (archetype) {
      case 'vip': {
        this.identify(first, last, { userId: true, email: true, phone: true, anonymousIds: 3 });
        // a '+' in the email exercises URL-encoding of identifiers
        c.email = `${first}.${last}+vip@example.com`.toLowerCase();
        this.baseTraits(first, last, 'en', 'platinum', createdAtMs);
        this.computedTraits({ lifetimeValue: 18_450.75, churnRisk: 0.12, ordersCount: 42 });
        const orderCompletedAt = this.now - 12 * MINUTE;
        c.traits.last_purchase_at = isoDate(orderCompletedAt);
        Object.assign(c.traits, {
          company: 'Northwind Outfitters',
          job_title: 'Head of Operations',
          loyalty_tier: 'gold',
          loyalty_points: 48_210,
          marketing_opt_in: true,
          sms_opt_in: true,
          timezone: 'America/Chicago',
          preferred_store: 'Chicago Loop',
          account_manager: this.world.agents[0].name,
        });
        c.audiences = { vip: true, high_value: true, churn_risk_high: false };
        // B2B: the VIP buys for an enterprise account (Segment group call), linked to its profile.
        c.accounts = [this.world.accounts[0].groupId];
        this.lazyEvents((w) => {
          w.random(28, true);
          w.add('Checkout Started', this.now - 25 * MINUTE, true);
          w.add('Order Completed', orderCompletedAt, true);
        });
        this.conversation('sms', this.now - 10 * DAY, 'closed', 6);
        this.conversation('sms', this.now - 6 * HOUR, 'closed', 5);
        this.conversation('sms', this.now - 40 * MINUTE, 'active', 7);
        this.messagingTask();
        break;
      }
      case 'new': {
        this.identify(first, last, { userId: true, email: true, anonymousIds: 1 });
        c.email = `${first}.${last}${c.index}@example.org`.toLowerCase();
        c.traits = { first_name: first, last_name: last, email: c.email, created_at: isoDate(this.now - 2 * HOUR) };
        c.createdAt = isoDate(this.now - 2 * HOUR);
        this.lazyEvents((w) => w.add('Signed Up', this.now - 2 * HOUR, true));
        this.emailTask();
        break;
      }
      case 'anonymous_only': {
        c.anonymousIds = [rng.uuid(), rng.uuid()];
        c.traits = { landing_page: '/pricing', utm_source: 'newsletter' };
        c.createdAt = isoDate(this.now - 3 * DAY);
        this.lazyEvents((w) => {
          for (let i = 0; i < 4; i++) w.add('Page Viewed', this.now - w.rng.int(10, 3 * 24 * 60) * MINUTE, false);
        });
        break;
      }
      case 'whatsapp_only': {
        c.name = `${first} ${last}`;
        c.phone = '+34600' + String(100_000 + c.index).padStart(6, '0');
        c.traits = { first_name: first, last_name: last, name: c.name, phone: c.phone, language: 'es', country: 'ES', preferred_channel: 'whatsapp' };
        this.conversation('whatsapp', this.now - 3 * DAY, 'closed', 5);
        this.conversation('whatsapp', this.now - 15 * MINUTE, 'active', 6);
        this.messagingTask();
        break;
      }
      case 'no_profile': {
        c.profileId = null;
        c.phone = phoneNumber(c.index);
        c.createdAt = isoDate(this.now - 40 * DAY);
        this.conversation('sms', this.now - 40 * DAY, 'closed', 5);
        this.conversation('sms', this.now - 2 * HOUR, 'active', 5);
        this.messagingTask();
        break;
      }
      case 'long_history': {
        this.identify(first, last, { userId: true, email: true, phone: true, anonymousIds: 12 });
        // A customer of years whose profile traits nobody has set since: stale ones (updated_at
        // over a year ago), beside computed traits Segment keeps current.
        const since = this.now - 3 * 365 * DAY;
        c.createdAt = isoDate(since);
        this.baseTraits(first, last, 'en', 'enterprise', since);
        for (const key of Object.keys(c.traits)) c.traitsUpdatedAt[key] = isoDate(since + 30 * DAY);
        c.accounts = [this.world.accounts[1].groupId, this.world.accounts[0].groupId];
        this.computedTraits({ lifetimeValue: 9_120.4, churnRisk: 0.34, ordersCount: 77 });
        for (let i = 1; Object.keys(c.traits).length < 150; i++)
          c.traits[`custom_attribute_${String(i).padStart(3, '0')}`] = rng.chance(0.5) ? rng.int(0, 1000) : rng.pick(PLANS);
        c.audiences = { high_value: true, newsletter_subscribers: true, churn_risk_high: false };
        this.lazyEvents((w) => w.random(250, true));
        for (let i = 0; i < 60; i++) {
          const createdAt = i === 59 ? this.now - 30 * MINUTE : this.now - rng.int(2 * 60, 365 * 24 * 60) * MINUTE;
          // mostly SMS, so the phone alone has more than one page (50) of ParticipantConversations
          this.conversation(i % 10 === 0 ? 'whatsapp' : 'sms', createdAt, i === 59 ? 'active' : 'closed', rng.int(5, 8));
        }
        this.messagingTask();
        break;
      }
      case 'regular':
        this.regular(first, last, createdAtMs);
        break;
    }
    return c;
  }

  private regular(first: string, last: string, createdAtMs: number): void {
    const c = this.customer;
    const rng = this.rng;
    const hasUserId = rng.chance(0.7);
    const hasEmail = rng.chance(0.8);
    const hasPhone = rng.chance(0.6);
    this.identify(first, last, { userId: hasUserId, email: hasEmail, phone: hasPhone, anonymousIds: rng.int(1, 3) });
    if (!hasUserId && !hasEmail) c.name = null;
    if (c.name) this.baseTraits(first, last, rng.pick(LANGUAGES), rng.pick(PLANS), createdAtMs);
    else c.traits = { language: rng.pick(LANGUAGES) };
    if (rng.chance(0.7)) {
      this.computedTraits({
        lifetimeValue: Math.round(rng.next() * 500_000) / 100,
        churnRisk: Math.round(rng.next() * 100) / 100,
        ordersCount: rng.int(0, 30),
      });
    }
    for (const audience of AUDIENCES) if (rng.chance(0.25)) c.audiences[audience] = rng.chance(0.6);
    const eventCount = rng.int(0, 40);
    this.lazyEvents((w) => w.random(eventCount, hasUserId));
    if (c.phone) {
      const count = rng.int(0, 4);
      const channel: MessagingChannel = rng.chance(0.25) ? 'whatsapp' : 'sms';
      for (let i = 0; i < count; i++) {
        const createdAt = this.now - rng.int(30, 90 * 24 * 60) * MINUTE;
        const recent = this.now - createdAt < 2 * DAY;
        this.conversation(
          channel,
          createdAt,
          recent && rng.chance(0.5) ? 'active' : rng.pick<ConversationState>(['closed', 'closed', 'inactive']),
          rng.int(5, 9),
        );
      }
      this.messagingTask();
    }
  }

  private identify(first: string, last: string, has: { userId?: boolean; email?: boolean; phone?: boolean; anonymousIds: number }): void {
    const c = this.customer;
    c.name = `${first} ${last}`;
    if (has.userId) c.userId = 'usr_' + this.rng.base62(10) + c.index.toString(36);
    if (has.email) c.email = `${first}.${last}${c.index}@example.com`.toLowerCase();
    if (has.phone) c.phone = phoneNumber(c.index);
    for (let i = 0; i < has.anonymousIds; i++) c.anonymousIds.push(this.rng.uuid());
  }

  private baseTraits(first: string, last: string, language: string, plan: string, createdAtMs: number): void {
    const c = this.customer;
    const [city, country] = this.rng.pick(CITIES);
    c.traits = { first_name: first, last_name: last, name: `${first} ${last}` };
    if (c.email) c.traits.email = c.email;
    if (c.phone) c.traits.phone = c.phone;
    Object.assign(c.traits, { language, plan, city, country, created_at: isoDate(createdAtMs) });
  }

  private computedTraits(values: { lifetimeValue: number; churnRisk: number; ordersCount: number }): void {
    const rng = this.rng;
    Object.assign(this.customer.traits, {
      lifetime_value: values.lifetimeValue,
      churn_risk: values.churnRisk,
      orders_count: values.ordersCount,
      avg_order_value: values.ordersCount ? Math.round((values.lifetimeValue / values.ordersCount) * 100) / 100 : 0,
      last_purchase_at: isoDate(this.now - rng.int(1, 60 * 24) * MINUTE),
      emails_opened_last_30_days: rng.int(0, 40),
      days_since_last_seen: rng.int(0, 30),
      preferred_channel: rng.pick(['email', 'sms', 'whatsapp']),
    });
  }

  /**
   * Events are most of the data (about 200,000 for 10,000 customers), so each customer's are
   * generated on first read, from their own stream: start-up stays fast and the result does
   * not depend on which customers were read first.
   */
  private lazyEvents(script: (writer: EventWriter) => void): void {
    const c = this.customer;
    const { world, options } = this;
    lazyProperty(c, 'events', () => EventWriter.run(c, world, Random.derive(options.seed, c.index, EVENT_STREAM), options.now.getTime(), script));
  }

  /** Messages alternate customer / agent and stay inside [createdAt, now). */
  private conversation(channel: MessagingChannel, createdAt: number, state: ConversationState, messageCount: number): void {
    const c = this.customer;
    const rng = this.rng;
    const world = this.world;
    const phone = c.phone as string;
    const address = channel === 'whatsapp' ? `whatsapp:${phone}` : phone;
    const proxy = channel === 'whatsapp' ? `whatsapp:${world.whatsappNumber}` : world.smsNumber;
    const agent = rng.pick(world.agents);
    const sid = rng.sid('CH');
    const created = twilioDate(createdAt);
    const step = Math.max(1_000, Math.min(rng.int(1, 8) * MINUTE, Math.floor((this.now - createdAt) / (messageCount + 1))));
    const customer: SandboxParticipant = {
      sid: rng.sid('MB'),
      identity: null,
      userSid: null,
      messagingBinding: { type: channel, address, proxy_address: proxy },
      dateCreated: created,
    };
    const agentParticipant: SandboxParticipant = {
      sid: rng.sid('MB'),
      identity: agent.identity,
      userSid: agent.userSid,
      messagingBinding: null,
      dateCreated: twilioDate(createdAt + step),
    };
    const conversation: SandboxConversation = {
      sid,
      customerIndex: c.index,
      channel,
      address,
      friendlyName: c.name ?? address,
      state,
      attributes: '{}',
      dateCreated: created,
      dateUpdated: messageCount ? twilioDate(createdAt + messageCount * step) : created,
      customer,
      agent: agentParticipant,
      messages: [],
    };
    // Messages are generated on first read (from the conversation's own stream), like events.
    const messageRng = Random.derive(this.options.seed, c.index, MESSAGE_STREAM + c.conversations.length);
    lazyProperty(conversation, 'messages', () => {
      const messages: SandboxMessage[] = [];
      for (let i = 0; i < messageCount; i++) {
        const fromCustomer = i % 2 === 0;
        messages.push({
          sid: messageRng.sid('IM'),
          index: i,
          author: fromCustomer ? address : agent.identity,
          body: messageRng.pick(fromCustomer ? CUSTOMER_LINES : AGENT_LINES),
          participantSid: fromCustomer ? customer.sid : agentParticipant.sid,
          dateCreated: twilioDate(createdAt + (i + 1) * step),
        });
      }
      return messages;
    });
    c.conversations.push(conversation);
  }

  /** A Flex-style inbound messaging task for the customer's newest conversation. */
  private messagingTask(): void {
    const c = this.customer;
    const newest = c.conversations.reduce<SandboxConversation | null>((best, conv) => (!best || conv.dateCreated > best.dateCreated ? conv : best), null);
    const channel: MessagingChannel = newest?.channel ?? 'sms';
    const address = newest?.address ?? (c.phone as string);
    const attributes: Record<string, unknown> = { from: address, customerAddress: address, channelType: channel };
    if (newest) attributes.conversationSid = newest.sid;
    Object.assign(attributes, { direction: 'inbound', customers: { phone: c.phone }, name: c.name ?? address });
    this.task(attributes, 'chat');
  }

  private emailTask(): void {
    this.task({ channelType: 'email', direction: 'inbound', customers: { email: this.customer.email } }, 'email');
  }

  private task(attributes: Record<string, unknown>, channel: string): void {
    const created = twilioDate(this.now - this.rng.int(1, 30) * MINUTE);
    this.customer.tasks.push({
      sid: this.rng.sid('WT'),
      customerIndex: this.customer.index,
      attributes: JSON.stringify(attributes),
      assignmentStatus: 'pending',
      priority: 0,
      reason: null,
      timeout: 86_400,
      taskChannel: channel,
      dateCreated: created,
      dateUpdated: created,
      version: 0,
    });
  }
}

/** Writes one customer's events; newest first once done. */
class EventWriter {
  private readonly events: SegmentEventWire[] = [];

  private constructor(
    private readonly customer: SandboxCustomer,
    private readonly world: SandboxWorld,
    readonly rng: Random,
    private readonly now: number,
  ) {}

  static run(customer: SandboxCustomer, world: SandboxWorld, rng: Random, now: number, script: (writer: EventWriter) => void): SegmentEventWire[] {
    const writer = new EventWriter(customer, world, rng, now);
    script(writer);
    return writer.events.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
  }

  /** `count` events of the usual mix within Segment's 14-day window. */
  random(count: number, identified: boolean): void {
    const names = [
      'Page Viewed',
      'Page Viewed',
      'Product Viewed',
      'Product Viewed',
      'Product Added',
      'Checkout Started',
      'Order Completed',
      'Email Opened',
      'Signed In',
    ];
    for (let i = 0; i < count; i++) {
      const at = this.now - this.rng.int(60_000, EVENT_WINDOW - 60_000);
      this.add(this.rng.pick(names), at, identified && this.rng.chance(0.8));
    }
  }

  add(name: string, at: number, identified: boolean): void {
    const c = this.customer;
    const rng = this.rng;
    const web = name === 'Page Viewed' || name === 'Product Viewed' || name === 'Product Added' || !identified;
    const externalIds: SegmentExternalIdRef[] = [];
    if (identified && c.userId) externalIds.push({ collection: 'users', type: 'user_id', id: c.userId, encoding: 'none' });
    if (web && c.anonymousIds.length) externalIds.push({ collection: 'users', type: 'anonymous_id', id: rng.pick(c.anonymousIds), encoding: 'none' });
    const product = rng.pick(PRODUCTS);
    let properties: Record<string, unknown>;
    let type: SegmentEventWire['type'] = 'track';
    switch (name) {
      case 'Page Viewed': {
        type = 'page';
        const [title, path] = rng.pick(PAGES);
        properties = { name: title, path, url: `https://shop.example.com${path}`, title: `${title} | Example Shop`, referrer: '' };
        break;
      }
      case 'Product Viewed':
      case 'Product Added':
        properties = { ...product, quantity: 1, currency: 'USD' };
        break;
      case 'Checkout Started':
      case 'Order Completed': {
        const quantity = rng.int(1, 3);
        properties = { order_id: 'ord_' + rng.hex(10), revenue: product.price * quantity, currency: 'USD', products: [{ ...product, quantity }] };
        break;
      }
      case 'Email Opened':
        properties = { campaign_id: 'cmp_' + rng.hex(6), subject: 'New arrivals for the trail season' };
        break;
      default:
        properties = { method: rng.pick(['password', 'google', 'magic_link']) };
    }
    this.events.push({
      type,
      event: name,
      message_id: web ? 'ajs-next-' + rng.hex(32) : rng.uuid(),
      source_id: web ? this.world.sources.web : this.world.sources.server,
      timestamp: isoDate(at),
      properties,
      context: web
        ? {
            library: { name: 'analytics.js', version: 'next-1.72.0' },
            page: { path: properties.path ?? '/', url: properties.url ?? 'https://shop.example.com/' },
            ip: `203.0.113.${rng.int(1, 254)}`,
          }
        : { library: { name: '@segment/analytics-node', version: '3.1.0' } },
      external_ids: externalIds,
      related: { users: c.profileId ?? '' },
    });
  }
}
