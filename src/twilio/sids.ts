/**
 * Twilio resource sids: two letters naming the resource, then 32 hex digits. The one place their
 * patterns live; a string that fails here is never used to build a key, a URL or a log line.
 */
const sid = (prefix: string) => new RegExp(`^${prefix}[0-9a-fA-F]{32}$`);

export const SID_PATTERNS = {
  account: sid('AC'),
  workspace: sid('WS'),
  task: sid('WT'),
  worker: sid('WK'),
  conversation: sid('CH'),
  message: sid('IM'),
  participant: sid('MB'),
  /** Flex Interactions (twilio_flex_v1.json): an Interaction, its channel, a channel's participant. */
  interaction: sid('KD'),
  interactionChannel: sid('UO'),
  interactionParticipant: sid('UT'),
  /** An Agent Copilot wrap-up note (https://www.twilio.com/docs/flex/developer/copilot-webhooks). */
  note: sid('KQ'),
  flexInstance: sid('GO'),
} as const;

export type SidKind = keyof typeof SID_PATTERNS;

export function isSid(kind: SidKind, value: unknown): value is string {
  return typeof value === 'string' && SID_PATTERNS[kind].test(value);
}
