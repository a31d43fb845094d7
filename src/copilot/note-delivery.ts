// A wrap-up note webhook, and the note it gives (changes/wrap-up-note.ts). Pure: no I/O.
//
// The webhook's fields (https://www.twilio.com/docs/flex/developer/copilot-webhooks, "note_created"
// and "note_updated"): `sid` (KQ…), `event_type`, `instance_sid` (GO…), `interaction_sid` (KD…),
// `channel_sid` (UO…), `participant_sid` (UT…), `profile_connect_sid` (YI…), `summary`,
// `sentiment`, `disposition_code_sid` (what the agent chose or wrote; null until they do) and
// `generated_summary`, `generated_sentiment`, `detected_language` (what Copilot generated). The
// page's example names further `generated_disposition…` fields that this service does not read.
import type { NoteEvent, WrapUpNote } from '../changes/wrap-up-note';

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
