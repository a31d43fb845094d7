import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';
import { Public } from '../common/public.decorator';
import { AppConfig } from '../config/config';

/** Prometheus scrapes this; it holds no customer data (labels never carry identifiers). */
@Public()
@Controller()
export class MetricsController {
  constructor(
    private readonly registry: Registry,
    private readonly config: AppConfig,
  ) {}

  @Get('metrics')
  async metrics(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    // With METRICS_PORT the figures are served there only (src/metrics/metrics-server.ts).
    if (this.config.metricsPort !== undefined) throw new NotFoundException();
    void reply.header('content-type', this.registry.contentType).header('cache-control', 'no-store');
    return this.registry.metrics();
  }
}
