/**
 * Debian's Chromium for the browser tests (playwright-core drives it; never `npx playwright
 * install`), headless, without the GPU and without the background traffic a profile would start.
 */
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { ViewerDebugState } from '../../web-viewer/src/debug-state.js';

export const CHROMIUM = process.env.SGUS_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** Polls `what` every `pollMs` until it gives a value (not undefined/false); throws after `timeoutMs`. */
export async function until<T>(what: () => Promise<T | undefined | false> | T | undefined | false, label: string, timeoutMs = 15000, pollMs = 100): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await what();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

// The function below runs in the page; Node's types have no window.
declare const window: unknown;

/** The viewer's own account of what it shows (`window.__sgus`, web-viewer/src/debug-state.ts). */
export function viewerState(page: Page): Promise<ViewerDebugState> {
  return page.evaluate(() => (window as unknown as { __sgus: ViewerDebugState }).__sgus);
}
