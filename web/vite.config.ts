import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// `npm run dev -w web` proxies /api to the local stack's nginx (`npm run stack`), so the
// SameSite=Strict cookies and the same-origin rules hold as in production.
const edge = process.env.BOARD_EDGE_URL ?? 'https://127.0.0.1:8443';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    // Hashed file names under /assets/: nginx serves them as immutable.
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    proxy: { '/api': { target: edge, changeOrigin: false, secure: false } },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
