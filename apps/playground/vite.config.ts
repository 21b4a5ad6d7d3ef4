import { defineConfig } from 'vite';

// A static site: relative asset URLs, so dist/ works from any folder (the docs site serves it under playground/).
// The build script logs errors only: Vite warns that `node:` modules are externalized in the lazily loaded chunks
// behind path-taking functions (loadModelDir, file sources), which the page never calls.
export default defineConfig({
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { port: 5173 },
});
