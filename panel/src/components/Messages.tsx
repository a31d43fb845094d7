import { messageKey, type Changes } from '../changes';
import type { Conversation, CustomerContext } from '../query';
import { When } from './When';

interface Props {
  context: CustomerContext;
  changes: Changes | null;
  now: number;
}

/** Agents write as their Flex identity, usually an email: the name part is enough here. */
const agentName = (author: string | null) => (author ? author.split('@')[0] : 'Unknown');

interface ThreadProps {
  conversation: Conversation;
  changes: Changes | null;
  now: number;
  open: boolean;
}

function Thread({ conversation, changes, now, open }: ThreadProps) {
  return (
    <details class="thread" open={open}>
      <summary>
        {(conversation.channel ?? 'conversation').toUpperCase()} · {conversation.state}
        {conversation.updatedAt && (
          <span class="muted small">
            {' '}
            · <When iso={conversation.updatedAt} now={now} />
          </span>
        )}
      </summary>
      {conversation.messages.length === 0 ? (
        <p class="muted small">No messages.</p>
      ) : (
        <ol class="messages">
          {conversation.messages.map((message) => {
            const { fromCustomer } = message;
            return (
              <li
                key={message.sid}
                class={fromCustomer ? 'message message-in' : 'message message-out'}
                data-fresh={changes?.keys.has(messageKey(message.sid)) ? '' : undefined}
              >
                <span class="message-meta small">
                  {fromCustomer ? 'Customer' : agentName(message.author)} · <When iso={message.createdAt} now={now} />
                </span>
                <span class="message-body">{message.body ?? (message.bodyWithheld ? '(text not shown to your role)' : '(no text)')}</span>
              </li>
            );
          })}
        </ol>
      )}
    </details>
  );
}

export function Messages({ context, changes, now }: Props) {
  const { edges, totalCount } = context.conversations;
  return (
    <section aria-labelledby="messages-title">
      <h2 id="messages-title">Recent conversations</h2>
      {/* The latest is open, and any with news; older ones are a keypress away. */}
      {edges.length === 0 ? (
        <p class="muted">No conversations with this customer.</p>
      ) : (
        edges.map(({ node }, index) => (
          <Thread
            key={node.sid}
            conversation={node}
            changes={changes}
            now={now}
            open={index === 0 || node.messages.some((m) => changes?.keys.has(messageKey(m.sid)))}
          />
        ))
      )}
      {totalCount > edges.length && <p class="muted small">{totalCount - edges.length} older conversations not shown.</p>}
    </section>
  );
}
