import { ago, exactly } from '../time';

/** A relative time that names the exact one on hover and to assistive technology. */
export function When({ iso, now }: { iso: string | null; now: number }) {
  if (!iso) return <>never</>;
  return (
    <time dateTime={iso} title={exactly(iso)}>
      {ago(iso, now)}
    </time>
  );
}
