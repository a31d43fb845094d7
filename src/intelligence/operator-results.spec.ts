import { toInsights } from './operator-results';

const GT = `GT${'1'.repeat(32)}`;

describe(toInsights.name, () => {
  it('reads pre-built operators by name, and a custom one as other', () => {
    const insights = toInsights(
      [
        { name: 'Sentiment Analysis', operator_type: 'conversation-classify', predicted_label: 'Negative' },
        { name: 'Escalation Request', operator_type: 'utterance-classify', utterance_match: false },
        { name: 'Do Not Contact Me', operator_type: 'utterance-classify', utterance_match: true },
        { name: 'Conversation Summary', operator_type: 'text-generation', text_generation_results: { format: 'text', result: 'Asked for a refund.' } },
        { name: 'Product Mentioned', operator_type: 'extract-normalize', normalized_result: 'Boots' },
      ],
      GT,
      '2026-01-01T00:00:00.000Z',
    );
    expect(insights.map((i) => [i.kind, i.label, i.text])).toEqual([
      ['sentiment', 'negative', null],
      ['escalation', 'false', null],
      ['do_not_contact', 'true', null],
      ['summary', null, 'Asked for a refund.'],
      ['other', 'boots', null],
    ]);
  });
});
