import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig } from 'vite';

/**
 * Builds the plugin the way Flex loads plugins (what @twilio/flex-plugin-scripts' webpack setup
 * does): one classic script, `dist/plugin-customer-context.js`, with React, ReactDOM and Flex
 * itself left to the globals Flex provides. `npm run build:flex-plugin` runs it; the service
 * serves the result at /flex-plugin/plugin-customer-context.js.
 */
const require = createRequire(import.meta.url);
const version = (name: string): string => (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export default defineConfig({
  root: import.meta.dirname,
  // The FlexPlugin base class reads these (flex-plugin-scripts defines them the same way).
  define: {
    __FPB_PLUGIN_UNIQUE_NAME: JSON.stringify(pkg.name),
    __FPB_PLUGIN_VERSION: JSON.stringify(pkg.version),
    __FPB_FLEX_PLUGIN_SCRIPTS_VERSION: JSON.stringify('N/A'),
    __FPB_FLEX_PLUGIN_VERSION: JSON.stringify(version('@twilio/flex-plugin')),
    __FPB_FLEX_UI_VERSION: JSON.stringify(version('@twilio/flex-ui')),
    __FPB_REACT_VERSION: JSON.stringify(version('react')),
    __FPB_REACT_DOM_VERSION: JSON.stringify(version('react-dom')),
    __CUSTOMER_CONTEXT_SERVICE_URL__: JSON.stringify(process.env.FLEX_PLUGIN_SERVICE_URL ?? ''),
    'process.env.NODE_ENV': JSON.stringify('production'),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Flex UI 2.x supports evergreen browsers only.
    target: 'es2020',
    sourcemap: true,
    lib: {
      entry: 'src/index.ts',
      formats: ['iife'],
      name: 'PluginCustomerContext',
      fileName: () => `${pkg.name}.js`,
    },
    rollupOptions: {
      external: ['react', 'react-dom', '@twilio/flex-ui'],
      output: { globals: { react: 'React', 'react-dom': 'ReactDOM', '@twilio/flex-ui': 'Twilio.Flex' } },
    },
  },
});
