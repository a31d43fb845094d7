import { filterTraitDetails, traitDetailsOf } from './trait-details';

const NOW = Date.parse('2026-06-01T00:00:00.000Z');
const DAY = 86_400_000;

describe(traitDetailsOf.name, () => {
  it('gives each trait its origin, stale only when its known update time is older than the threshold', () => {
    const details = traitDetailsOf(
      {
        traits: { plan: 'gold', city: 'Oslo', vip: true },
        origins: {
          plan: { sourceId: 'src1', updatedAt: new Date(NOW - 10 * DAY).toISOString() },
          city: { sourceId: 'src2', updatedAt: new Date(NOW - 91 * DAY).toISOString() },
        },
      },
      NOW,
      90 * DAY,
    );
    expect(details).toEqual([
      { key: 'plan', value: 'gold', source: 'src1', updatedAt: '2026-05-22T00:00:00.000Z', stale: false },
      { key: 'city', value: 'Oslo', source: 'src2', updatedAt: '2026-03-02T00:00:00.000Z', stale: true },
      // No origin: unknown, and nothing says it is old.
      { key: 'vip', value: true, source: null, updatedAt: null, stale: false },
    ]);
  });
});

describe(filterTraitDetails.name, () => {
  const details = traitDetailsOf({ traits: { email: 'ada@example.com', ssn: '1', address: { city: 'Oslo', street: 'Main 1' } }, origins: {} }, NOW, DAY);

  it('keeps what the filter keeps, with the value it gives, in the original order', () => {
    const filtered = filterTraitDetails(details, (traits) => ({ address: { city: (traits.address as { city: string }).city }, email: 'a***@example.com' }));
    expect(filtered.map((d) => [d.key, d.value])).toEqual([
      ['email', 'a***@example.com'],
      ['address', { city: 'Oslo' }],
    ]);
  });

  it('keeps nothing when the filter keeps nothing', () => {
    expect(filterTraitDetails(details, () => ({}))).toEqual([]);
  });
});
