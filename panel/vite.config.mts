import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Built by `npm run build:panel` (vite build panel); the service serves panel/dist under /panel/.
export default defineConfig({
  base: '/panel/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Flex runs in evergreen browsers; no legacy transforms or polyfills.
    target: 'es2022',
    modulePreload: { polyfill: false },
  },
});
