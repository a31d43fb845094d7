import { CustomerRoot, type CustomerContextService } from '../context/customer-context.service';
import type { ChangeAnnouncer } from '../ingest/change-announcer';
import type { KeptRecords } from '../changes/kept-records';
import { CopilotIngestService } from './copilot-ingest.service';
import type { InteractionSource } from './interaction.source';
import type { NoteDelivery } from './note-delivery';

describe(CopilotIngestService.name, () => {
  const delivery: NoteDelivery = {
    sid: `KQ${'1'.repeat(32)}`,
    event_type: 'note_created',
    interaction_sid: `KD${'2'.repeat(32)}`,
    generated_summary: 'A refund was promised.',
  };

  it('keeps nothing while the notes kept so far cannot be read: the note would lose its first time, and a redelivery would look new', async () => {
    const root = new CustomerRoot('use_1', null, [], [], null);
    const interactions = {
      interaction: () => Promise.resolve({ sid: delivery.interaction_sid, channel: null, routing: { properties: { sid: `WT${'3'.repeat(32)}` } } }),
    } as unknown as InteractionSource;
    const contexts = {
      resolveProfile: () => Promise.resolve(root),
      // As the customer context answers a store it cannot read: its source's error, and no notes.
      notes: (r: CustomerRoot) => {
        r.record('twilio.copilot', { fetchedAt: null, stale: true, error: 'UPSTREAM_UNAVAILABLE' });
        return Promise.resolve([]);
      },
    } as unknown as CustomerContextService;
    const keep = jest.fn(() => Promise.resolve(true));
    const service = new CopilotIngestService(
      interactions,
      contexts,
      { keep } as unknown as KeptRecords,
      {
        announce: () => Promise.resolve(),
      } as unknown as ChangeAnnouncer,
    );
    await expect(service.apply(delivery)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(keep).not.toHaveBeenCalled();
  });
});
