// Headless Debian Chromium driven by playwright-core (no browser download): the path, why it is
// missing, and a launcher with the flags a sandboxed, offline CI machine needs.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Why browser tests cannot run here, or undefined when they can. */
export const chromiumMissing: string | undefined = chromiumPath
  ? undefined
  : 'Chromium is not installed (apt-get install -y chromium)';

export function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error(chromiumMissing);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
