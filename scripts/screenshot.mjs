#!/usr/bin/env node
// The README's picture of the viewer: starts the real `npm start` (the synthetic sample exam, no
// patient data) on a free port, opens the viewer in Debian's Chromium (playwright-core, headless,
// no GPU), waits for the exam's picture with its outline, and writes docs/viewer.png.
// Usage: npm run build && node scripts/screenshot.mjs [out.png]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'viewer.png'));
const env = { ...process.env };
delete env.SGUS_TOKEN; // a loopback server without a token: the URL printed opens as is

// Its own process group, so that the server npm starts ends with it.
const server = spawn('npm', ['start', '--silent', '--', '--port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
const stop = () => {
  try {
    process.kill(-server.pid, 'SIGINT');
  } catch {
    // Already gone.
  }
};
process.on('exit', stop);
server.stderr.on('data', (b) => process.stderr.write(b));

const url = await new Promise((resolve, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error('npm start printed no viewer URL within 180 s')), 180_000);
  server.stdout.on('data', (b) => {
    text += b.toString();
    const m = /viewer: (http\S+)/.exec(text);
    if (m !== null) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  server.on('exit', (code) => reject(new Error(`npm start exited with code ${code}`)));
});

const browser = await chromium.launch({ executablePath: process.env.SGUS_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  // The exam on screen, current, with its outline (a gland area shown), for a few pictures.
  await page.waitForFunction(
    () => {
      const s = window.__sgus;
      return s !== undefined && s.drawn >= 25 && !s.stale && /\d/.test(document.getElementById('area')?.textContent ?? '');
    },
    undefined,
    { timeout: 240_000, polling: 250 },
  );
  await page.screenshot({ path: out });
  console.log(`screenshot: ${path.relative(process.cwd(), out)}`);
} finally {
  await browser.close();
  stop();
}
