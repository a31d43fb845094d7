import { Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { FlexPluginBundle } from './flex-plugin-bundle';
import { FlexPluginController } from './flex-plugin.controller';
import { PanelAssets, panelSettings } from './panel-assets';
import { PanelController } from './panel.controller';

/** GET /panel: the agent context panel (built from panel/ by Vite), and the Flex plugin that frames it, served from memory. */
@Module({
  controllers: [PanelController, FlexPluginController],
  providers: [
    { provide: PanelAssets, useFactory: (config: AppConfig) => PanelAssets.load(panelSettings(config)), inject: [AppConfig] },
    { provide: FlexPluginBundle, useFactory: () => FlexPluginBundle.load() },
  ],
})
export class PanelModule {}
