import Redis from 'ioredis';
import type { RedisConnection } from '../cache/redis-connection';
import type { AppConfig } from '../config/config';
import type { CustomerContextService } from '../context/customer-context.service';
import type { ChangeAnnouncer } from '../ingest/change-announcer';
import type { CacheService } from '../cache/cache.service';
import { KeptRecords } from '../changes/kept-records';
import { IntelligenceIngestService } from './intelligence-ingest.service';
import type { Insight } from '../changes/insight';
import type { IntelligenceSource, OperatorResultWire } from './intelligence.source';

/** Two transcripts of one customer announced at once: both are kept (a read-modify-write of the whole list lost one). */
describe('IntelligenceIngestService', () => {
  let client: Redis;
  afterAll(() => client?.quit());

  it('keeps the results of two transcripts of one customer that arrive at the same moment', async () => {
    client = new Redis(process.env.TEST_REDIS_URL!);
    const config = { redis: { keyPrefix: `ingest${process.pid}:` }, identity: { defaultPhoneRegion: 'US' } } as AppConfig;
    const kept = new KeptRecords(
      config,
      { enabled: true, create: () => client } as unknown as RedisConnection,
      {
        onProfileNews: () => () => undefined,
      } as unknown as CacheService,
    );
    kept.onModuleInit();

    // A barrier: neither delivery gets its results before both have asked, so both write in the same window.
    let asked = 0;
    let release!: () => void;
    const bothAsked = new Promise<void>((resolve) => (release = resolve));
    const result = (label: string): OperatorResultWire => ({ name: 'Sentiment Analysis', operator_type: 'conversation-classify', predicted_label: label });
    const source: IntelligenceSource = {
      transcript: (sid) =>
        Promise.resolve({ sid, customerAddress: '+12015550100', customerKey: null, at: new Date(sid.endsWith('1') ? 1_000 : 2_000).toISOString() }),
      operatorResults: async (sid) => {
        if (++asked === 2) release();
        await bothAsked;
        return [result(sid.endsWith('1') ? 'negative' : 'positive')];
      },
    };
    const contexts = { resolveProfile: () => Promise.resolve({ profileKey: 'use_race', externalIds: [] }) } as unknown as CustomerContextService;
    const announced: string[] = [];
    const announcer = {
      announce: (change: { insights?: Insight[] }) => Promise.resolve(void announced.push(change.insights![0].transcriptSid)),
    } as unknown as ChangeAnnouncer;
    const ingest = new IntelligenceIngestService(config, kept, source, announcer, contexts);

    const [first, second] = [`GT${'a'.repeat(31)}1`, `GT${'a'.repeat(31)}2`];
    expect(await Promise.all([ingest.apply(first), ingest.apply(second)])).toEqual(['applied', 'applied']);
    const transcripts = await kept.read<Insight[]>('insights', 'use_race');
    expect(
      transcripts
        .flat()
        .map((i) => [i.transcriptSid, i.label])
        .sort(),
    ).toEqual([
      [first, 'negative'],
      [second, 'positive'],
    ]);
    expect(announced.sort()).toEqual([first, second]);
  });
});
