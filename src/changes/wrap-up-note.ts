/**
 * An Agent Copilot wrap-up note, as the service keeps it. Pure: no I/O.
 *
 * The webhook's fields (https://www.twilio.com/docs/flex/developer/copilot-webhooks, "note_created"
 * and "note_updated"): `sid` (KQ…), `event_type`, `instance_sid` (GO…), `interaction_sid` (KD…),
 * `channel_sid` (UO…), `participant_sid` (UT…), `profile_connect_sid` (YI…), `summary`,
 * `sentiment`, `disposition_code_sid` (what the agent chose or wrote; null until they do) and
 * `generated_summary`, `generated_sentiment`, `detected_language` (what Copilot generated). The
 * page's example names further `generated_disposition…` fields that this service does not read.
 */
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

/** Notes kept per customer, newest first. */
export const MAX_NOTES = 20;
/** How long a customer's notes are kept after the last one arrived. */
export const NOTES_TTL_MS = 30 * 24 * 60 * 60_000;
/** A version's rank: a late note_created never replaces its note_updated. */
export const NOTE_REVISION: Record<NoteEvent, number> = { note_created: 1, note_updated: 2 };

const text = (value: string | null | undefined, max: number) => (typeof value === 'string' && value.trim() ? value.trim().slice(0, max) : null);

/** A wrap-up note webhook, validated (see the controller for its documented fields). */
export interface NoteDelivery {
  sid: string;
  event_type: NoteEvent;
  interaction_sid: string;
  channel_sid?: string | null;
  participant_sid?: string | null;
  summary?: string | null;
  generated_summary?: string | null;
  sentiment?: string | null;
  generated_sentiment?: string | null;
  disposition_code_sid?: string | null;
  detected_language?: string | null;
}

/** The webhook's fields as the note keeps them: what the agent set wins over what Copilot generated. */
export function toNote(payload: NoteDelivery, createdAt: string, updatedAt: string): WrapUpNote {
  return {
    sid: payload.sid,
    interactionSid: payload.interaction_sid,
    channelSid: payload.channel_sid ?? null,
    summary: text(payload.summary, 4000) ?? text(payload.generated_summary, 4000),
    sentiment: (text(payload.sentiment, 64) ?? text(payload.generated_sentiment, 64))?.toLowerCase() ?? null,
    disposition: text(payload.disposition_code_sid, 64),
    language: text(payload.detected_language, 35),
    event: payload.event_type,
    createdAt,
    updatedAt,
  };
}

/** The signals notes give, from the customer's kept notes (any order). */
export function noteSignals(notes: readonly WrapUpNote[]): { lastNoteSentiment: string | null; lastNoteAt: string | null } {
  const latest = latestNote(notes);
  return { lastNoteSentiment: latest?.sentiment ?? null, lastNoteAt: latest ? new Date(latest.createdAt).toISOString() : null };
}

export function latestNote(notes: readonly WrapUpNote[]): WrapUpNote | null {
  return notes.reduce<WrapUpNote | null>((best, n) => (!best || Date.parse(n.createdAt) > Date.parse(best.createdAt) ? n : best), null);
}
