import { Module } from '@nestjs/common';
import { TaskSource } from './task.source';
import { TwilioTaskSource } from './twilio-task.source';

/** TaskRouter tasks. */
@Module({ providers: [{ provide: TaskSource, useClass: TwilioTaskSource }], exports: [TaskSource] })
export class TasksModule {}
