// What the browser scripts share: the environment scripts/browser.sh sets, a hard stop,
// Chromium launched as this machine allows, and the wait on the example page's #status.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const STEP_MS = 10_000;

// Exits with 1 naming what is missing, or returns playwright's chromium.
export async function chromiumOrExit() {
    for (const name of ['COGNITO_SESSION_CHROMIUM', 'COGNITO_SESSION_PLAYWRIGHT_DIR']) {
        if (!process.env[name]) {
            console.error(`FAIL: ${name} is not set (scripts/browser.sh install)`);
            process.exit(1);
        }
    }
    // ESM ignores NODE_PATH, so playwright-core is imported by its absolute path.
    const dir = path.resolve(process.env.COGNITO_SESSION_PLAYWRIGHT_DIR);
    const { chromium } = await import(pathToFileURL(path.join(dir, 'playwright-core', 'index.mjs')).href);
    return chromium;
}

// Stops the whole run after `ms`, whatever it is waiting for.
export function stopAfter(ms) {
    setTimeout(() => {
        console.error(`FAIL: the run did not finish within ${ms / 1000} s`);
        process.exit(1);
    }, ms).unref();
}

export function launch(chromium) {
    return chromium.launch({
        executablePath: process.env.COGNITO_SESSION_CHROMIUM,
        headless: true,
        timeout: 30_000,
        // Without the networking flags Chromium keeps calling out, and this machine refuses.
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
}

// Waits until #status starts with `want`; on time-out, says what it shows.
export async function expectStatus(page, want) {
    try {
        await page.waitForFunction(
            (want) => (document.getElementById('status')?.textContent ?? '').startsWith(want),
            want,
            { timeout: STEP_MS, polling: 50 },
        );
    } catch {
        const shown = await page.locator('#status').textContent().catch(() => '<unreadable>');
        throw new Error(`#status should start with ${JSON.stringify(want)} but shows ${JSON.stringify(shown)}`);
    }
}
