import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { catchError, from, mergeMap, tap, throwError, type Observable } from 'rxjs';
import { principalOf, type CallerContext } from '../auth/principal';
import { DomainError } from '../common/errors';
import { selectedFields } from '../context/selection';
import type { LookupInput } from '../identity/identity';
import { RequestPipeline } from '../pipeline/request-pipeline';
import type { AccessTarget } from './strict-access';

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
      lookup: typeof args.lookup === 'object' && args.lookup !== null ? (args.lookup as LookupInput) : undefined,
      taskSid: typeof args.taskSid === 'string' ? args.taskSid : undefined,
      profileId: typeof args.profileId === 'string' ? args.profileId : undefined,
    };
    if (!target.lookup && !target.taskSid && !target.profileId) return next.handle();

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
