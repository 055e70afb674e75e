import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/*
 * Two pages: login.html (public) and index.html (the console, behind a session). The
 * manifest lets the admin app tell which built files the login page needs: only those are
 * served without a session.
 */
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    rolldownOptions: { input: { console: 'index.html', login: 'login.html' } },
  },
});
