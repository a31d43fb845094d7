import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors';
import { CustomerContextService } from '../context/customer-context.service';
import { ChangeAnnouncer } from '../ingest/change-announcer';
import type { ContextChange } from '../changes/change';
import { KeptRecords } from '../changes/kept-records';
import { lookupFromInteraction, lookupFromParticipants } from './interaction-customer';
import { InteractionSource } from './interaction.source';
import type { NoteEvent, WrapUpNote } from '../changes/wrap-up-note';
import { toNote, type NoteDelivery } from './note-delivery';

/** Notes kept per customer, newest first. */
export const MAX_NOTES = 20;
/** How long a customer's notes are kept after the last one arrived. */
export const NOTES_TTL_MS = 30 * 24 * 60 * 60_000;
/** A version's rank: a late note_created never replaces its note_updated. */
export const NOTE_REVISION: Record<NoteEvent, number> = { note_created: 1, note_updated: 2 };

export type NoteOutcome = 'applied' | 'unchanged' | 'unknown_interaction' | 'unknown_customer';

/**
 * Turns a wrap-up note into one of the customer's notes: finds the customer through the Flex
 * Interaction the note wraps up (its task's attributes, else its task, else the channel's agent's
 * task), resolved like any lookup; keeps the note (one record per note sid, a note_updated
 * replacing its note_created); and tells the customer's subscribers when anything changed.
 */
@Injectable()
export class CopilotIngestService {
  constructor(
    private readonly interactions: InteractionSource,
    private readonly contexts: CustomerContextService,
    private readonly kept: KeptRecords,
    private readonly announcer: ChangeAnnouncer,
  ) {}

  async apply(delivery: NoteDelivery, now = new Date()): Promise<NoteOutcome> {
    const interaction = await this.interactions.interaction(delivery.interaction_sid);
    if (!interaction) return 'unknown_interaction';
    let lookup = lookupFromInteraction(interaction);
    if (!lookup && delivery.channel_sid) {
      lookup = lookupFromParticipants(await this.interactions.participants(interaction.sid, delivery.channel_sid), delivery.participant_sid ?? null);
    }
    // Resolved as any lookup is: from the cache, else through Twilio and the budgeted Profile API;
    // a failed read on the way is a 502, so Copilot's retry finds the customer.
    const root = lookup ? await this.contexts.resolveProfile(lookup) : null;
    if (!root?.profileKey) return 'unknown_customer';
    const profileId = root.profileKey;

    // The version's own times: the webhook carries none, so when this service heard of it.
    const notes = await this.contexts.notes(root);
    // The notes kept so far could not be read: the note's first time would be lost, and a
    // redelivery would look new. Refused (503) so that Copilot retries.
    if (root.sources.get('twilio.copilot')?.error) throw new DomainError(ErrorCode.UNAVAILABLE, 'The kept notes cannot be read; retry later');
    const earlier = notes.find((n) => n.sid === delivery.sid);
    const at = now.toISOString();
    let note: WrapUpNote = toNote(delivery, earlier?.createdAt ?? at, at);
    // A redelivery of the version kept is that version, times included: nothing changes, nothing is pushed.
    if (earlier && sameVersion(earlier, note)) note = earlier;
    const changed = await this.kept.keep(
      'notes',
      profileId,
      { field: note.sid, value: note, at: Date.parse(note.createdAt), rev: NOTE_REVISION[note.event] },
      { max: MAX_NOTES, ttlMs: NOTES_TTL_MS },
    );
    if (!changed) return 'unchanged';
    const change: ContextChange = { profileId, parts: ['notes'], source: 'copilot', at, note };
    await this.announcer.announce(change, { profileId, externalIds: root.externalIds });
    return 'applied';
  }
}

function sameVersion(a: WrapUpNote, b: WrapUpNote): boolean {
  const { createdAt: _a, updatedAt: _b, ...left } = a;
  const { createdAt: _c, updatedAt: _d, ...right } = b;
  return JSON.stringify(left) === JSON.stringify(right);
}
