import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FlexAuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { FlexTokenValidator, TwilioFlexTokenValidator } from './token-validator';

/** Flex-token authentication for every route not marked @Public(). */
@Module({
  providers: [AuthService, { provide: FlexTokenValidator, useClass: TwilioFlexTokenValidator }, { provide: APP_GUARD, useClass: FlexAuthGuard }],
  exports: [AuthService],
})
export class AuthModule {}
