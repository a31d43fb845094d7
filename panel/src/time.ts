/** "5 minutes ago" for the timeline; the exact time goes in the element's datetime and title. */
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function ago(iso: string, now: number): string {
  const elapsed = Date.parse(iso) - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(elapsed) >= size) return relative.format(Math.trunc(elapsed / size), unit);
  }
  return 'just now';
}

export const exactly = (iso: string) => absolute.format(new Date(iso));
