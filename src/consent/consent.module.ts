import { Global, Module } from '@nestjs/common';
import { ConsentService } from './consent.service';

/** Customers' consent, read wherever their data leaves (GraphQL, routing, pushes). */
@Global()
@Module({ providers: [ConsentService], exports: [ConsentService] })
export class ConsentModule {}
