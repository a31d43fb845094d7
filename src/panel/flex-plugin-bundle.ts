import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { file, type PanelFile } from './panel-assets';

/** `npm run build:flex-plugin` writes here; two levels up from both src/panel and dist/panel. */
const PLUGIN_DIST = resolve(__dirname, '../../flex-plugin/dist');

/** The name Flex's PluginVersion points at (`npm run flex-plugin:deploy`). */
export const PLUGIN_FILE = 'plugin-customer-context.js';

export interface PluginFile extends PanelFile {
  /** Strong validator: the name is fixed, so browsers revalidate and get a 304 until a new build. */
  etag: string;
}

/** The Flex plugin's bundle and its source map, read once into memory like the panel's files. */
export class FlexPluginBundle {
  private constructor(private readonly files: ReadonlyMap<string, PluginFile>) {}

  static load(dir = PLUGIN_DIST): FlexPluginBundle {
    const files = new Map<string, PluginFile>();
    const types: Record<string, string> = { [PLUGIN_FILE]: 'text/javascript; charset=utf-8', [`${PLUGIN_FILE}.map`]: 'application/json; charset=utf-8' };
    for (const [name, type] of Object.entries(types)) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      const body = readFileSync(path);
      files.set(name, { ...file(type, body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    }
    if (!files.has(PLUGIN_FILE))
      new Logger(FlexPluginBundle.name).warn(`the Flex plugin is not built (${join(dir, PLUGIN_FILE)} is missing): run npm run build:flex-plugin`);
    return new FlexPluginBundle(files);
  }

  get(name: string): PluginFile | undefined {
    return this.files.get(name);
  }
}
