import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless and offline; the test fails (never skips) when it is not installed.
 * Playwright's launch gives it a fresh temporary profile (--user-data-dir) and removes it on close.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) expect.fail(`${CHROMIUM} is missing: the browser tests need Debian's Chromium. Install it with \`apt-get install -y chromium\`.`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** Collects console errors and uncaught page errors, to assert that none happened. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** A folder for the test's screenshots, printed so a person can look at them. */
export function screenshotDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ftm-${name}-screens-`));
  console.log(`screenshots of ${name}: ${dir}`);
  return dir;
}
