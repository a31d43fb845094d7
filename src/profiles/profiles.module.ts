import { Module } from '@nestjs/common';
import { ProfileSource } from './profile.source';
import { SegmentProfileSource } from './segment-profile.source';

/** Customer profiles from Segment's Profile API. */
@Module({ providers: [{ provide: ProfileSource, useClass: SegmentProfileSource }], exports: [ProfileSource] })
export class ProfilesModule {}
