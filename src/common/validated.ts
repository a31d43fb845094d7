import type { z } from 'zod';
import { DomainError, ErrorCode } from './errors';

/** A webhook body as its schema reads it, or BAD_REQUEST naming the first field that does not fit (`prefix` says which item). */
export function validated<S extends z.ZodType>(schema: S, body: unknown, prefix = ''): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new DomainError(ErrorCode.BAD_REQUEST, `${prefix}${issue.path.join('.') || 'body'}: ${issue.message}`);
}
