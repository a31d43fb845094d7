// Module-level copies: under jest's vm context every global lookup (imul in a hot loop)
// is dozens of times slower, enough to push seeding 10,000 customers past its time budget.
const { imul, floor } = Math;
const SCRATCH = Buffer.alloc(64);
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * mulberry32: tiny, fast and good enough for demo data. Every customer gets its own stream
 * (derived from the seed and its index), so one customer's data never depends on how much
 * randomness another one consumed.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream derived from a parent seed and labels, e.g. (seed, customer index, purpose). */
  static derive(seed: number, label: number, stream = 0): Random {
    // splitmix-style mixing so neighbouring labels give unrelated streams
    let h = (seed ^ imul(label + 0x9e3779b9, 0x85ebca6b) ^ imul(stream + 0x632be5ab, 0xc2b2ae35)) >>> 0;
    h = imul(h ^ (h >>> 16), 0x7feb352d);
    h = imul(h ^ (h >>> 15), 0x846ca68b);
    return new Random((h ^ (h >>> 16)) >>> 0);
  }

  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[floor(this.next() * items.length)];
  }

  hex(length: number): string {
    // One string per id, encoded by Buffer: seeding makes tens of thousands of SIDs
    const bytes = Math.ceil(length / 2);
    for (let i = 0; i < bytes; i += 4) SCRATCH.writeUInt32BE(this.uint32(), i);
    const out = SCRATCH.toString('hex', 0, bytes);
    return out.length === length ? out : out.slice(0, length);
  }

  base62(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += BASE62[floor(this.next() * 62)];
    return out;
  }

  /** A Twilio SID: two-letter prefix + 32 lowercase hex digits. */
  sid(prefix: string): string {
    return prefix + this.hex(32);
  }

  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) & 3]}${h.slice(17, 20)}-${h.slice(20)}`;
  }
}
