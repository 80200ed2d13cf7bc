// The example page's first log-in in headless Chromium: a user with a temporary password is
// asked for a new one, a password the pool's policy refuses is reported, a good one logs in.
//
//   node tests/browser/first_login.mjs <base_url> <username> <temporary> <weak> <new>
//
// Needs COGNITO_SESSION_CHROMIUM and COGNITO_SESSION_PLAYWRIGHT_DIR (scripts/browser.sh).
// Exits 0 on success, 1 on a failure, 2 on bad usage.

import { STEP_MS, chromiumOrExit, expectStatus, launch, stopAfter } from './support.mjs';

const [baseArg, username, temporary, weak, chosen] = process.argv.slice(2);
if (!chosen) {
    console.error('usage: node tests/browser/first_login.mjs <base_url> <username> <temporary> <weak> <new>');
    process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const chromium = await chromiumOrExit();
stopAfter(60_000);

let browser;
let status = 0;
const pageErrors = [];
try {
    browser = await launch(chromium);
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/`);
    await expectStatus(page, 'Not logged in');
    if (await page.locator('#challenge').isVisible()) {
        throw new Error('the challenge form shows before any challenge');
    }
    console.log('ok   the page is open, no challenge form');

    await page.locator('#username').fill(username);
    await page.locator('#password').fill(temporary);
    await page.locator('#login [type=submit]').click();
    await expectStatus(page, 'Choose a new password.');
    if (!(await page.locator('#new-password').isVisible()) || (await page.locator('#code').isVisible())) {
        throw new Error('the new-password challenge should show the password field only');
    }
    if ((await context.cookies(base)).length > 0) {
        throw new Error('a challenge set a cookie');
    }
    console.log('ok   the temporary password asks for a new one');

    await page.locator('#new-password').fill(weak);
    await page.locator('#challenge [type=submit]').click();
    await expectStatus(page, 'Try again:');
    console.log('ok   a password the policy refuses is reported');

    await page.locator('#new-password').fill(chosen);
    await page.locator('#challenge [type=submit]').click();
    await expectStatus(page, `Logged in as ${username}`);
    if (await page.locator('#challenge').isVisible()) {
        throw new Error('the challenge form is still shown after log-in');
    }
    await page.reload();
    await expectStatus(page, `Logged in as ${username}`);
    console.log('ok   the new password logs in, and the cookie works after a reload');
    if (pageErrors.length > 0) {
        throw new Error(`script errors on the page: ${pageErrors.join('; ')}`);
    }
} catch (e) {
    console.error(`FAIL: ${e.message}`);
    status = 1;
} finally {
    await browser?.close().catch(() => {});
}
process.exit(status);
