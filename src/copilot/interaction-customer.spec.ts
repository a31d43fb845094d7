import { lookupFromInteraction, lookupFromParticipants } from './interaction-customer';
import { latestNote, noteSignals } from '../changes/wrap-up-note';
import { toNote } from './note-delivery';

const KD = `KD${'1'.repeat(32)}`;
const WT = `WT${'2'.repeat(32)}`;
const CH = `CH${'3'.repeat(32)}`;

describe(lookupFromInteraction.name, () => {
  it("reads the customer from the task attributes in the Interaction's routing, a JSON string as Twilio sends it", () => {
    const routing = { properties: { sid: WT, attributes: JSON.stringify({ customerAddress: '+13115552368', conversationSid: CH }) } };
    expect(lookupFromInteraction({ sid: KD, channel: { type: 'sms', sid: 'UO1' }, routing })).toMatchObject({ address: '+13115552368', conversationSid: CH });
  });

  it('falls back to the task itself, and names nobody without either', () => {
    expect(lookupFromInteraction({ sid: KD, channel: null, routing: { properties: { sid: WT, attributes: '{}' } } })).toEqual({ taskSid: WT });
    expect(lookupFromInteraction({ sid: KD, channel: null, routing: { properties: { sid: 'WT-bogus', attributes: 'not json' } } })).toBeNull();
    expect(lookupFromInteraction({ sid: KD, channel: null, routing: null })).toBeNull();
    // A conversation sid that is not one builds nothing.
    expect(lookupFromInteraction({ sid: KD, channel: null, routing: { properties: { attributes: { conversationSid: 'CH../x' } } } })).toBeNull();
  });
});

describe(lookupFromParticipants.name, () => {
  const agent = (sid: string, taskSid: unknown) => ({ sid, type: 'agent', routingProperties: { task_sid: taskSid } });
  it("takes the note's participant's task first, else any agent's", () => {
    const other = `WT${'9'.repeat(32)}`;
    const participants = [{ sid: 'UT0', type: 'customer', routingProperties: null }, agent('UT1', other), agent('UT2', WT)];
    expect(lookupFromParticipants(participants, 'UT2')).toEqual({ taskSid: WT });
    expect(lookupFromParticipants(participants, null)).toEqual({ taskSid: other });
    expect(lookupFromParticipants([agent('UT1', 'nope')], 'UT1')).toBeNull();
  });
});

describe(toNote.name, () => {
  const base = { sid: `KQ${'4'.repeat(32)}`, interaction_sid: KD, event_type: 'note_created' as const };
  it('prefers what the agent set over what Copilot generated, and bounds the text', () => {
    const generated = toNote({ ...base, summary: null, generated_summary: ' Asked for a return. ', generated_sentiment: 'Neutral' }, 'c', 'u');
    expect(generated).toMatchObject({ summary: 'Asked for a return.', sentiment: 'neutral', disposition: null });
    const edited = toNote(
      { ...base, event_type: 'note_updated', summary: 'Return approved.', sentiment: 'positive', generated_summary: 'x', disposition_code_sid: 'DC1' },
      'c',
      'u',
    );
    expect(edited).toMatchObject({ summary: 'Return approved.', sentiment: 'positive', disposition: 'DC1', event: 'note_updated' });
    expect(toNote({ ...base, summary: 'a'.repeat(5000) }, 'c', 'u').summary).toHaveLength(4000);
  });

  it('gives the latest note and its signals', () => {
    const older = toNote({ ...base, sentiment: 'negative' }, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
    const newer = toNote({ ...base, sid: `KQ${'5'.repeat(32)}`, sentiment: 'positive' }, '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z');
    expect(latestNote([older, newer])?.sid).toBe(newer.sid);
    expect(noteSignals([newer, older])).toEqual({ lastNoteSentiment: 'positive', lastNoteAt: '2026-01-02T00:00:00.000Z' });
    expect(noteSignals([])).toEqual({ lastNoteSentiment: null, lastNoteAt: null });
  });
});
