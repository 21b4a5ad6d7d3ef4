import { defineConfig } from 'vite';

// A static site: relative asset URLs, so dist/ works from any folder (the docs site serves it under playground/).
export default defineConfig({
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { port: 5173 },
});
