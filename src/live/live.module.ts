import { Module } from '@nestjs/common';
import { LiveResolver } from './live.resolver';

/** Live context: the changes the bus delivers (changes/), pushed to GraphQL subscribers. */
@Module({ providers: [LiveResolver] })
export class LiveModule {}
