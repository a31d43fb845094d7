import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { catchError, from, mergeMap, tap, throwError, type Observable } from 'rxjs';
import { principalOf, type CallerContext } from '../auth/principal';
import { DomainError, ErrorCode } from '../common/errors';
import { selectedFields } from '../context/selection';
import { lookupInputProblem } from '../identity/identity';
import { RequestPipeline } from './request-pipeline';
import { isSid } from '../twilio/sids';
import type { AccessTarget } from '../auth/customer-access';

/**
 * Around every GraphQL root field that names a customer (`lookup`, `profileId`) or a task
 * (`taskSid`): the pipeline's access step before it runs, and its read recorded after for the
 * steps that follow the answer (audit, tracking). Root fields only.
 */
@Injectable()
export class CustomerAccessInterceptor implements NestInterceptor {
  constructor(private readonly pipeline: RequestPipeline) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType<GqlContextType>() !== 'graphql') return next.handle();
    const gql = GqlExecutionContext.create(context);
    const args = gql.getArgs<{ lookup?: unknown; taskSid?: unknown; profileId?: unknown }>();
    const target: AccessTarget = {
      lookup: typeof args.lookup === 'object' && args.lookup !== null ? args.lookup : undefined,
      taskSid: typeof args.taskSid === 'string' ? args.taskSid : undefined,
      profileId: typeof args.profileId === 'string' ? args.profileId : undefined,
    };
    if (!target.lookup && !target.taskSid && !target.profileId) return next.handle();
    // Malformed input goes no further: no key, audit line or upstream call is built from it.
    const problem = inputProblem(target);
    if (problem) return throwError(() => new DomainError(ErrorCode.BAD_REQUEST, problem));

    const caller = gql.getContext<CallerContext>();
    const principal = principalOf(caller);
    const info = gql.getInfo<GraphQLResolveInfo>();
    const state = caller.req?.pipeline;
    const read = { field: info.fieldName, parts: [...selectedFields(info)], target };
    return from(this.pipeline.access(principal, target)).pipe(
      mergeMap(() => next.handle()),
      tap((result) => this.pipeline.read(state, principal, { ...read, result })),
      catchError((error: unknown) => {
        this.pipeline.read(state, principal, { ...read, result: undefined, error: error instanceof DomainError ? error.code : 'INTERNAL' });
        return throwError(() => error);
      }),
    );
  }
}

const MAX_PROFILE_ID_LENGTH = 512;

function inputProblem(target: AccessTarget): string | null {
  if (target.taskSid !== undefined && !isSid('task', target.taskSid)) return 'taskSid must be a TaskRouter task SID (WT and 32 hex digits)';
  if (target.profileId !== undefined && target.profileId.length > MAX_PROFILE_ID_LENGTH) return `profileId is longer than ${MAX_PROFILE_ID_LENGTH} characters`;
  return target.lookup ? lookupInputProblem(target.lookup) : null;
}
