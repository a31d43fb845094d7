import { createHash, randomBytes } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio';
import { createTwilioClient } from '../../src/twilio/twilio-client';
import type { Harness } from './harness';

/**
 * What Twilio (and Twilio-signed callers such as Studio and Functions) send to the service,
 * signed with the harness's auth token against its PUBLIC_BASE_URL, and a twilio-node client on
 * the sandbox for tests that create or change tasks the way someone else would.
 */

/** Fixed on purpose: signatures are checked against PUBLIC_BASE_URL, never the address the app listens on. */
export const PUBLIC_BASE_URL = 'https://cc.example.test';

type Signed = Pick<Harness, 'url' | 'config'>;

export function postForm(h: Signed, path: string, params: Record<string, string>, signature?: string | null): Promise<Response> {
  const expected = getExpectedTwilioSignature(h.config.twilio.authToken, `${h.config.publicBaseUrl}${path}`, params);
  const header = signature === undefined ? expected : signature;
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(header === null ? {} : { 'x-twilio-signature': header }) },
    body: new URLSearchParams(params).toString(),
  });
}

/**
 * Twilio's scheme for JSON: the body's SHA-256 rides in the URL, and the URL is signed without
 * parameters. `signWith` signs with another auth token (a forgery); null sends no signature.
 */
export function postJson(h: Signed, path: string, body: unknown, signWith: string | null = h.config.twilio.authToken): Promise<Response> {
  const text = JSON.stringify(body);
  const signedPath = `${path}?bodySHA256=${createHash('sha256').update(text).digest('hex')}`;
  const signature = signWith === null ? null : getExpectedTwilioSignature(signWith, `${h.config.publicBaseUrl}${signedPath}`, {});
  return fetch(`${h.url}${signedPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    body: text,
  });
}

/** A TaskRouter `task.created` event as the EventCallbackUrl receives it. */
export function taskCreatedEvent(h: Signed, taskSid: string, taskAttributes: string): Record<string, string> {
  const now = Date.now();
  return {
    EventType: 'task.created',
    EventDescription: `Task ${taskSid} created`,
    AccountSid: h.config.twilio.accountSid,
    WorkspaceSid: h.config.twilio.workspaceSid,
    WorkspaceName: 'sandbox',
    Sid: `EV${randomBytes(16).toString('hex')}`,
    ResourceType: 'task',
    ResourceSid: taskSid,
    Timestamp: String(Math.floor(now / 1000)),
    TimestampMs: String(now),
    TaskSid: taskSid,
    TaskAttributes: taskAttributes,
    TaskAge: '0',
    TaskPriority: '0',
    TaskAssignmentStatus: 'pending',
    TaskChannelUniqueName: 'default',
  };
}

export function taskRouter(h: Pick<Harness, 'config'>) {
  return createTwilioClient(h.config).client.taskrouter.v1.workspaces(h.config.twilio.workspaceSid);
}

export { eventually } from './eventually';
