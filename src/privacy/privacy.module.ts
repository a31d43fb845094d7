import { Module } from '@nestjs/common';
import { ContextModule } from '../context/context.module';
import { SecurityModule } from '../security/security.module';
import { ConsentResolver } from './consent.resolver';

/** Privacy: what a customer's consent hides, and erasing a customer from every copy. */
@Module({
  imports: [ContextModule, SecurityModule],
  providers: [ConsentResolver],
})
export class PrivacyModule {}
