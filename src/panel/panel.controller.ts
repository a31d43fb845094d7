import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/public.decorator';
import { DomainError, ErrorCode } from '../common/errors';
import { PanelAssets, type PanelFile } from './panel-assets';

/**
 * The panel's page and bundle. Public: they hold no customer data (every data call the page makes
 * carries the agent's Flex token), and the Flex CRM iframe cannot send headers to load them.
 */
@Public()
@Controller('panel')
export class PanelController {
  constructor(private readonly assets: PanelAssets) {}

  @Get()
  page(@Headers('accept-encoding') encoding: string | undefined, @Res() reply: FastifyReply): void {
    if (!this.assets.page) throw new DomainError(ErrorCode.UNAVAILABLE, 'The agent panel is not built: run npm run build:panel');
    // The page names the current bundle's hashed files, so it is revalidated every time.
    send(reply, this.assets.page, encoding, 'no-cache');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Headers('accept-encoding') encoding: string | undefined, @Res() reply: FastifyReply): void {
    const found = this.assets.asset(name);
    if (!found) throw new DomainError(ErrorCode.NOT_FOUND, 'No such panel asset');
    // Content-hashed names: a new build is a new URL, so a browser may keep these for good.
    send(reply, found, encoding, 'public, max-age=31536000, immutable');
  }
}

export function send(reply: FastifyReply, file: PanelFile, acceptEncoding: string | undefined, cacheControl: string): void {
  void reply.header('content-type', file.type).header('cache-control', cacheControl).header('vary', 'accept-encoding');
  if (/\bgzip\b/.test(acceptEncoding ?? '')) void reply.header('content-encoding', 'gzip').send(file.gzipped);
  else void reply.send(file.body);
}
