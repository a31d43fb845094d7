import { Logger } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AppConfig } from '../config/config';

/** `npm run build:panel` writes here; two levels up from both src/panel and dist/panel. */
const PANEL_DIST = resolve(__dirname, '../../panel/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface PanelFile {
  type: string;
  body: Buffer;
  /** Agents often sit behind slow links; the bundle is compressed once at start, not per request. */
  gzipped: Buffer;
}

/**
 * What the page needs to know about this deployment (read by panel/src/settings.ts); the CSP
 * allows no inline script, so a meta tag carries it.
 */
export interface PanelSettings {
  parentOrigins: string[];
  fragmentToken: boolean;
}

export const panelSettings = (config: AppConfig): PanelSettings => ({
  // The origins allowed to frame the panel (CSP frame-ancestors) are the ones that may hand it a token.
  parentOrigins: config.http.corsOrigins,
  fragmentToken: config.auth.mode === 'dev',
});

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const file = (type: string, body: Buffer): PanelFile => ({ type, body, gzipped: gzipSync(body) });

/**
 * The built panel, read once into memory: a page and a few hashed assets, small enough that
 * holding them beats a file read per request, and no path from a URL ever reaches the disk.
 */
export class PanelAssets {
  private constructor(
    /** Null when the panel is not built: the service still runs, and /panel says how to build it. */
    readonly page: PanelFile | null,
    private readonly assets: ReadonlyMap<string, PanelFile>,
  ) {}

  static load(settings: PanelSettings): PanelAssets {
    const index = join(PANEL_DIST, 'index.html');
    if (!existsSync(index)) {
      new Logger(PanelAssets.name).warn(`the agent panel is not built (${index} is missing): run npm run build:panel`);
      return new PanelAssets(null, new Map());
    }
    const meta = `<meta name="customer-context-panel" content="${escapeAttribute(JSON.stringify(settings))}" />`;
    const html = readFileSync(index, 'utf8').replace('</head>', `  ${meta}\n  </head>`);
    const assetsDir = join(PANEL_DIST, 'assets');
    const assets = new Map<string, PanelFile>();
    for (const name of existsSync(assetsDir) ? readdirSync(assetsDir) : []) {
      const type = TYPES[extname(name)];
      if (type) assets.set(name, file(type, readFileSync(join(assetsDir, name))));
    }
    return new PanelAssets(file(TYPES['.html'], Buffer.from(html)), assets);
  }

  asset(name: string): PanelFile | undefined {
    return this.assets.get(name);
  }
}
