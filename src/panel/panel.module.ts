import { Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { PanelAssets, panelSettings } from './panel-assets';
import { PanelController } from './panel.controller';

/** GET /panel: the agent context panel (built from panel/ by Vite), served from memory. */
@Module({
  controllers: [PanelController],
  providers: [{ provide: PanelAssets, useFactory: (config: AppConfig) => PanelAssets.load(panelSettings(config)), inject: [AppConfig] }],
})
export class PanelModule {}
