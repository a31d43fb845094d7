// An Agent Copilot wrap-up note as the service keeps it (copilot/note-delivery.ts builds it from the
// webhook), and the signals it gives. Pure: no I/O.

/** The webhook event a version of a note came from. */
export type NoteEvent = 'note_created' | 'note_updated';

export interface WrapUpNote {
  /** KQ… */
  sid: string;
  /** KD… the Flex Interaction the note wraps up. */
  interactionSid: string;
  /** UO… the Interaction's channel. */
  channelSid: string | null;
  /** The agent's summary, else the one Copilot generated. */
  summary: string | null;
  /** The agent's sentiment, else the one Copilot generated (e.g. neutral). */
  sentiment: string | null;
  /** The disposition code the agent chose (its sid), when they chose one. */
  disposition: string | null;
  /** The language Copilot detected (en-US). */
  language: string | null;
  /** The webhook event this version came from: note_updated (the agent clicked Complete) replaces note_created. */
  event: NoteEvent;
  /** When the service first heard of the note, and of this version (the webhook carries no time of its own). */
  createdAt: string;
  updatedAt: string;
}

/** The signals notes give, from the customer's kept notes (any order). */
export function noteSignals(notes: readonly WrapUpNote[]): { lastNoteSentiment: string | null; lastNoteAt: string | null } {
  const latest = latestNote(notes);
  return { lastNoteSentiment: latest?.sentiment ?? null, lastNoteAt: latest ? new Date(latest.createdAt).toISOString() : null };
}

export function latestNote(notes: readonly WrapUpNote[]): WrapUpNote | null {
  return notes.reduce<WrapUpNote | null>((best, n) => (!best || Date.parse(n.createdAt) > Date.parse(best.createdAt) ? n : best), null);
}
