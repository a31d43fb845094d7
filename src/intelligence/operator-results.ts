import type { Insight, InsightKind } from '../changes/insight';
import type { OperatorResultWire } from './intelligence.source';

/**
 * Language operator results, read as the service's insights. Pure: no I/O.
 *
 * Twilio's pre-built operators are told apart by their name, the only thing a result carries
 * about which operator made it besides its sid (which differs per account):
 * https://www.twilio.com/docs/conversational-intelligence/language-operators (Sentiment Analysis
 * is a conversation-classify operator with labels positive/neutral/negative; Escalation Request
 * an utterance-classify operator; Conversation Summary a text-generation one). Results' fields:
 * https://www.twilio.com/docs/conversational-intelligence/api/transcript-operator-results-subresource
 */
export function toInsights(results: OperatorResultWire[], transcriptSid: string, at: string): Insight[] {
  return results.map((result) => {
    const operator = typeof result.name === 'string' && result.name ? result.name.slice(0, 128) : 'operator';
    const kind = kindOf(operator, result.operator_type ?? null);
    return { transcriptSid, operatorSid: result.operator_sid ?? null, operator, kind, label: labelOf(kind, result), text: textOf(result), at };
  });
}

function kindOf(name: string, type: string | null): InsightKind {
  const n = name.toLowerCase();
  if (/sentiment/.test(n)) return 'sentiment';
  if (/escalat/.test(n)) return 'escalation';
  if (/do[\s_-]*not[\s_-]*contact|don'?t[\s_-]*contact/.test(n)) return 'do_not_contact';
  if (type === 'text-generation' || /summary/.test(n)) return 'summary';
  return 'other';
}

/** A classifier's label, lower-cased; for a match operator whether it matched. */
function labelOf(kind: InsightKind, r: OperatorResultWire): string | null {
  if (kind === 'escalation' || kind === 'do_not_contact') {
    const matched = r.utterance_match === true || r.extract_match === true || /^(yes|true)$/i.test(r.predicted_label ?? '');
    return String(matched);
  }
  const label = r.predicted_label ?? r.normalized_result ?? null;
  return typeof label === 'string' && label ? label.toLowerCase().slice(0, 64) : null;
}

/** text_generation_results is `{ result: "..." }` in Twilio's examples; a bare string is taken as is. */
function textOf(r: OperatorResultWire): string | null {
  const t = r.text_generation_results;
  if (typeof t === 'string') return t.slice(0, 4000);
  if (t && typeof t === 'object' && typeof (t as { result?: unknown }).result === 'string') return (t as { result: string }).result.slice(0, 4000);
  return null;
}
