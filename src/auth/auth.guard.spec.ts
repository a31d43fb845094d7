import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCode } from '../common/errors';
import { FlexAuthGuard } from './auth.guard';
import type { AuthService } from './auth.service';
import type { Principal } from './principal';
import { IS_PUBLIC } from '../common/public.decorator';

const jane: Principal = { identity: 'jane', roles: ['agent'], workerSid: 'WK1', expiresAt: Date.now() + 60_000 };

/** The parts of ExecutionContext the guard and GqlExecutionContext read. */
function contextOf(type: 'http' | 'graphql', transport: { request?: object; reply?: object; gql?: object }, isPublic = false): ExecutionContext {
  const handler = () => undefined;
  if (isPublic) Reflect.defineMetadata(IS_PUBLIC, true, handler);
  return {
    getType: () => type,
    getHandler: () => handler,
    getClass: () => class Controller {},
    getArgs: () => [undefined, {}, transport.gql, {}],
    getArgByIndex: (i: number) => [undefined, {}, transport.gql, {}][i],
    switchToHttp: () => ({ getRequest: () => transport.request, getResponse: () => transport.reply }),
  } as unknown as ExecutionContext;
}

describe(FlexAuthGuard.name, () => {
  const authenticateRequest = jest.fn();
  const guard = new FlexAuthGuard(new Reflector(), { authenticateRequest } as unknown as AuthService);
  beforeEach(() => authenticateRequest.mockReset().mockResolvedValue(jane));

  it('lets @Public() routes through without a token', async () => {
    expect(await guard.canActivate(contextOf('http', { request: { headers: {} } }, true))).toBe(true);
    expect(authenticateRequest).not.toHaveBeenCalled();
  });

  it('authenticates HTTP requests and GraphQL over HTTP through the Fastify request', async () => {
    const request = { headers: {} };
    const reply = { header: jest.fn() };
    await guard.canActivate(contextOf('http', { request, reply }));
    expect(authenticateRequest).toHaveBeenLastCalledWith(request, reply);
    await guard.canActivate(contextOf('graphql', { gql: { req: request, reply } }));
    expect(authenticateRequest).toHaveBeenLastCalledWith(request, reply);
  });

  it('takes a WebSocket caller from connection_init, and refuses a context with neither', async () => {
    expect(await guard.canActivate(contextOf('graphql', { gql: { principal: jane } }))).toBe(true);
    expect(authenticateRequest).not.toHaveBeenCalled();
    await expect(guard.canActivate(contextOf('graphql', { gql: {} }))).rejects.toMatchObject({ code: ErrorCode.UNAUTHENTICATED });
  });

  it('passes a refusal on', async () => {
    authenticateRequest.mockRejectedValue(new Error('refused'));
    await expect(guard.canActivate(contextOf('http', { request: { headers: {} } }))).rejects.toThrow('refused');
  });
});
