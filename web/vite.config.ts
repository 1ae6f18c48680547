import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `base: './'`: the gateway may serve the dashboard under any path; asset URLs stay relative.
// Content-hashed file names let the gateway cache assets forever and index.html not at all.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    manifest: true,
    assetsDir: 'assets',
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: {
    // `npm run dev` talks to a local gateway (KEYWARD_URL, default :8080).
    proxy: {
      '/api': process.env.KEYWARD_URL ?? 'http://127.0.0.1:8080',
      '/v1': process.env.KEYWARD_URL ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
