import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors';
import { AuthService } from './auth.service';
import type { CallerContext } from './principal';
import { IS_PUBLIC } from '../common/public.decorator';

/**
 * App-wide Flex-token check (APP_GUARD). Nest runs it on controllers and on GraphQL root fields
 * only (fieldResolverEnhancers stay off), so list fields pay nothing per item. GraphQL over HTTP is
 * authenticated once per request by the request pipeline, before validation; here that is a lookup.
 */
@Injectable()
export class FlexAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    if (context.getType<GqlContextType>() !== 'graphql') {
      const http = context.switchToHttp();
      await this.auth.authenticateRequest(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
      return true;
    }
    // @nestjs/mercurius puts the Fastify request in the context as `req` and Mercurius adds `reply`;
    // a WebSocket subscription has neither, only the principal its connection_init produced.
    const gql = GqlExecutionContext.create(context).getContext<CallerContext & { reply?: FastifyReply }>();
    if (gql.principal) return true;
    if (!gql.req) throw new DomainError(ErrorCode.UNAUTHENTICATED, 'A Flex token is required');
    await this.auth.authenticateRequest(gql.req, gql.reply);
    return true;
  }
}
