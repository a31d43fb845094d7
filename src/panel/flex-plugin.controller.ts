import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/public.decorator';
import { DomainError, ErrorCode } from '../common/errors';
import { FlexPluginBundle, PLUGIN_FILE } from './flex-plugin-bundle';
import { send } from './panel.controller';

/**
 * GET /flex-plugin/plugin-customer-context.js: the Flex plugin that frames the panel, for Flex to
 * load by the URL its PluginVersion names. Public like the panel's files (no customer data in it),
 * and loadable from Flex's origin by a script tag.
 */
@Public()
@Controller('flex-plugin')
export class FlexPluginController {
  constructor(private readonly bundle: FlexPluginBundle) {}

  @Get(':name')
  bundleFile(
    @Param('name') name: string,
    @Headers('accept-encoding') encoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): void {
    const found = this.bundle.get(name);
    if (!found) {
      if (name === PLUGIN_FILE) throw new DomainError(ErrorCode.UNAVAILABLE, 'The Flex plugin is not built: run npm run build:flex-plugin');
      throw new DomainError(ErrorCode.NOT_FOUND, 'No such Flex plugin file');
    }
    // Flex's page (another origin) loads this with a script tag: the default same-origin resource
    // policy would have the browser refuse it.
    void reply.header('cross-origin-resource-policy', 'cross-origin').header('etag', found.etag);
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === found.etag)) {
      void reply.header('cache-control', 'no-cache').header('vary', 'accept-encoding').code(304).send();
      return;
    }
    // A fixed name (the URL Flex registered), not a content hash: revalidated on every load, like /panel.
    send(reply, found, encoding, 'no-cache');
  }
}
