// Managed login in headless Chromium: "Sign in" on the example's page, sign in on the
// authorization server's page (tests/oidc/server.mjs, a Cognito domain's stand-in), back on
// the app as the user; the session refreshes; "Sign out" ends it and passes through the
// domain's /logout back to the app.
//
//   node tests/browser/managed_login.mjs <base_url> <domain_url> <username> <password>
//
// Needs COGNITO_SESSION_CHROMIUM and COGNITO_SESSION_PLAYWRIGHT_DIR (scripts/browser.sh).
// Exits 0 on success, 1 on a failure, 2 on bad usage.

import { STEP_MS, chromiumOrExit, expectStatus, launch, stopAfter } from './support.mjs';

const [baseArg, domainArg, username, password] = process.argv.slice(2);
if (!password) {
    console.error('usage: node tests/browser/managed_login.mjs <base_url> <domain_url> <username> <password>');
    process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const domain = domainArg.replace(/\/+$/, '');
const chromium = await chromiumOrExit();
stopAfter(60_000);

async function sessionCookie(context) {
    return (await context.cookies(base)).find((c) => c.name === 'token');
}

let browser;
let status = 0;
const pageErrors = [];
const visited = [];
try {
    browser = await launch(chromium);
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Every navigation request, the redirects' included.
    page.on('request', (request) => {
        if (request.isNavigationRequest()) visited.push(request.url());
    });
    await page.goto(`${base}/`);
    await expectStatus(page, 'Not logged in');
    console.log('ok   the page is open, not logged in');

    await page.locator('#sign-in').click();
    await page.waitForURL((url) => url.href.startsWith(`${domain}/`));
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(password);
    await page.locator('#submit').click();
    await page.waitForURL((url) => url.href === `${base}/`);
    await expectStatus(page, `Logged in as ${username}`);
    const first = await sessionCookie(context);
    if (!first || !first.httpOnly) {
        throw new Error(`no HttpOnly session cookie after the log-in: ${JSON.stringify(first)}`);
    }
    if ((await context.cookies(base)).some((c) => c.name === 'token-login')) {
        throw new Error('the log-in state cookie outlived the callback');
    }
    console.log('ok   signed in on the domain, back on the app as the user');

    // Access tokens live 60 s here, inside the 2-minute refresh window: every request refreshes.
    // Emptied first, so the wait below sees this request's answer, not the page load's.
    await page.locator('#status').evaluate((el) => { el.textContent = ''; });
    await page.locator('#whoami').click();
    await expectStatus(page, `Logged in as ${username}`);
    const second = await sessionCookie(context);
    if (!second || second.value === first.value) {
        throw new Error('the session cookie did not change: no refresh');
    }
    await page.reload();
    await expectStatus(page, `Logged in as ${username}`);
    console.log('ok   the session refreshed, and the new token works');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.href === `${base}/`);
    await expectStatus(page, 'Not logged in');
    if (!visited.some((url) => url.startsWith(`${domain}/logout?`))) {
        throw new Error(`the sign-out did not pass through the domain's /logout: ${visited.join(' -> ')}`);
    }
    console.log('ok   signed out here and at the domain');
    if (pageErrors.length > 0) {
        throw new Error(`script errors on the page: ${pageErrors.join('; ')}`);
    }
} catch (e) {
    console.error(`FAIL: ${e.message}\nvisited: ${visited.join(' -> ')}`);
    status = 1;
} finally {
    await browser?.close().catch(() => {});
}
process.exit(status);
