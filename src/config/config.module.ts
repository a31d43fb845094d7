import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './config';

/** Provides the configuration parsed once at start. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
