import { DomainError, ErrorCode } from '../common/errors';
import { parseAttributes } from '../tasks/twilio-task.source';

/**
 * The task-like attributes a Studio widget or a Function sends to /routing/attributes: a JSON
 * object or form fields, either carrying `TaskAttributes` (a JSON string, as in TaskRouter's
 * events, or an object) or being the attributes themselves. A malformed `TaskAttributes` string
 * reads as no attributes: the caller still gets the rules' defaults.
 */
export function taskAttributesFrom(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (!isObject(body)) throw new DomainError(ErrorCode.BAD_REQUEST, 'Send the task attributes as a JSON object or as form fields');
  const { TaskAttributes: embedded } = body;
  if (typeof embedded === 'string') return parseAttributes(embedded);
  if (isObject(embedded)) return { ...embedded };
  // A plain copy: form bodies arrive as objects without a prototype.
  return { ...body };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
