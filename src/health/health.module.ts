import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** /healthz and /readyz. */
@Module({ controllers: [HealthController] })
export class HealthModule {}
