// The example server's page (examples/server/index.html) in headless Chromium:
// log in, reload, log out, ask who we are — with the session in an HttpOnly cookie.
//
//   node tests/browser/login.mjs <base_url> <username> <password> [--check-wrong-password]
//
// Needs COGNITO_SESSION_CHROMIUM (the browser binary) and COGNITO_SESSION_PLAYWRIGHT_DIR
// (a node_modules folder holding playwright-core); `scripts/browser.sh install` writes both
// to .emulators/browser-env. With COGNITO_SESSION_SCREENSHOT set, saves a screenshot there
// at the end, or at the failing step. Exits 0 on success, 1 on a failure, 2 on bad usage.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

const STEP_MS = 10_000;
const LAUNCH_MS = 30_000;
const TOTAL_MS = 60_000;

const [baseArg, username, password, ...flags] = process.argv.slice(2);
const checkWrongPassword = flags.includes('--check-wrong-password');
const unknown = flags.filter((f) => f !== '--check-wrong-password');
if (!baseArg || !username || !password || unknown.length > 0) {
    console.error(
        'usage: node tests/browser/login.mjs <base_url> <username> <password> [--check-wrong-password]',
    );
    process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');

function requiredEnv(name) {
    const value = process.env[name];
    if (!value) {
        console.error(
            `FAIL: ${name} is not set. Run the suite with scripts/test, or ` +
                '`scripts/browser.sh install && source .emulators/browser-env` first.',
        );
        process.exit(1);
    }
    return value;
}
const executablePath = requiredEnv('COGNITO_SESSION_CHROMIUM');
const playwrightDir = requiredEnv('COGNITO_SESSION_PLAYWRIGHT_DIR');
const screenshotPath = process.env.COGNITO_SESSION_SCREENSHOT;

let current = 'start'; // the step under way, for the messages

// A hard stop for the whole run. Playwright kills the browser it launched when we exit.
setTimeout(() => {
    console.error(`FAIL: the run did not finish within ${TOTAL_MS / 1000} s (last step: ${current})`);
    process.exit(1);
}, TOTAL_MS).unref();

// ESM ignores NODE_PATH, so playwright-core is imported by its absolute path.
let chromium;
try {
    const entry = path.join(path.resolve(playwrightDir), 'playwright-core', 'index.mjs');
    ({ chromium } = await import(pathToFileURL(entry).href));
} catch (e) {
    console.error(`FAIL: cannot import playwright-core from ${playwrightDir}: ${e.message}`);
    process.exit(1);
}

async function step(name, body) {
    current = name;
    const started = Date.now();
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

// Waits until #status shows `want` (exactly, or as a prefix); on time-out, says what it shows.
async function expectStatus(page, want, { prefix = false } = {}) {
    try {
        await page.waitForFunction(
            ([want, prefix]) => {
                const text = document.getElementById('status')?.textContent ?? '';
                return prefix ? text.startsWith(want) : text === want;
            },
            [want, prefix],
            { timeout: STEP_MS, polling: 50 },
        );
    } catch (e) {
        const shown = await page
            .locator('#status')
            .textContent({ timeout: 1_000 })
            .catch(() => '<unreadable>');
        throw new Error(
            `#status should ${prefix ? 'start with' : 'be'} ${JSON.stringify(want)} but shows ` +
                `${JSON.stringify(shown)} after ${STEP_MS / 1000} s`,
        );
    }
}

// Empties #status before an action, so the wait that follows sees that action's result
// and not a leftover of the one before.
async function clearStatus(page) {
    await page.locator('#status').evaluate((el) => {
        el.textContent = '';
    });
}

async function submitLogin(page, user, pass) {
    await clearStatus(page);
    await page.locator('#username').fill(user);
    await page.locator('#password').fill(pass);
    const response = page.waitForResponse(
        (r) => r.url() === `${base}/sessions` && r.request().method() === 'POST',
    );
    await page.locator('#login [type=submit]').click();
    return await response;
}

const pageErrors = [];
const consoleLines = [];
let browser;
let page;
let failed = false;
try {
    await step('launch chromium', async () => {
        browser = await chromium.launch({
            executablePath,
            headless: true,
            timeout: LAUNCH_MS,
            args: [
                '--no-sandbox',
                '--disable-gpu',
                '--disable-quic',
                '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync',
                // Containers often have a tiny /dev/shm; Chromium then crashes on big pages.
                '--disable-dev-shm-usage',
            ],
        });
    });
    // A new context is a fresh profile: no cookies, no storage.
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));

    await step('open the page: not logged in', async () => {
        const response = await page.goto(`${base}/`);
        if (!response || !response.ok()) {
            throw new Error(`GET / answered ${response ? response.status() : 'nothing'}`);
        }
        await expectStatus(page, 'Not logged in', { prefix: true });
    });

    if (checkWrongPassword) {
        await step('a wrong password is refused', async () => {
            const response = await submitLogin(page, username, `${password}-wrong`);
            await expectStatus(page, 'Log-in failed', { prefix: true });
            if (response.ok()) {
                throw new Error(`POST /sessions answered ${response.status()} to a wrong password`);
            }
            const cookies = await context.cookies(base);
            if (cookies.length > 0) {
                throw new Error(`a refused log-in set cookies: ${cookies.map((c) => c.name).join(', ')}`);
            }
        });
    }

    let sessionId;
    await step(`log in as ${username}`, async () => {
        const response = await submitLogin(page, username, password);
        await expectStatus(page, `Logged in as ${username}`);
        sessionId = (await response.json().catch(() => ({}))).sessionId;
    });

    await step('the session survives a reload (the cookie works)', async () => {
        await page.reload();
        await expectStatus(page, `Logged in as ${username}`);
    });

    await step('the page cannot read the session cookie (HttpOnly)', async () => {
        const cookies = await context.cookies(base);
        if (cookies.length === 0) {
            throw new Error('the browser holds no cookie for the server after log-in');
        }
        const readable = cookies.filter((c) => !c.httpOnly).map((c) => c.name);
        if (readable.length > 0) {
            throw new Error(`cookies without HttpOnly: ${readable.join(', ')}`);
        }
        const visible = await page.evaluate(() => document.cookie);
        const secrets = cookies.map((c) => c.value);
        if (typeof sessionId === 'string') secrets.push(sessionId);
        if (secrets.some((s) => s && visible.includes(s))) {
            throw new Error('document.cookie shows the session token');
        }
    });

    await step('the page lists the sessions, and ends another device\'s with its button', async () => {
        // A second log-in of the same user, from outside the browser.
        const other = await fetch(`${base}/sessions`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username, password }),
        });
        const otherToken = (await other.json()).sessionId;
        if (!other.ok || typeof otherToken !== 'string') {
            throw new Error(`a second log-in answered ${other.status}`);
        }
        await page.reload();
        await expectStatus(page, `Logged in as ${username}`);
        const items = page.locator('#session-list li');
        await items.nth(1).waitFor();
        if ((await items.count()) !== 2) {
            throw new Error(`the page lists ${await items.count()} sessions, not 2`);
        }
        if ((await page.locator('#session-list button').count()) !== 2) {
            throw new Error('not one button per session');
        }
        await clearStatus(page);
        await page.locator('#session-list li', { hasNotText: 'this one' }).locator('button').click();
        await expectStatus(page, `Logged in as ${username}`);
        await page.waitForFunction(() => document.querySelectorAll('#session-list li').length === 1);
        const gone = await fetch(`${base}/sessions`, {
            headers: { Authorization: `Bearer ${otherToken}` },
        });
        if (gone.status !== 401) {
            throw new Error(`the ended session still answers ${gone.status}`);
        }
    });

    await step('log out', async () => {
        await clearStatus(page);
        await page.locator('#logout').click();
        await expectStatus(page, `Logged out ${username}`);
    });

    await step('who am I: not logged in any more', async () => {
        await clearStatus(page);
        await page.locator('#whoami').click();
        await expectStatus(page, 'Not logged in', { prefix: true });
    });

    if (pageErrors.length > 0) {
        current = 'page errors';
        throw new Error(`the page threw: ${pageErrors.join(' | ')}`);
    }
} catch (e) {
    failed = true;
    console.error(`FAIL at step "${current}": ${e.message}`);
    if (pageErrors.length > 0) console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
    if (consoleLines.length > 0) console.error(`page console:\n  ${consoleLines.join('\n  ')}`);
} finally {
    if (screenshotPath && page) {
        try {
            await page.screenshot({ path: screenshotPath, fullPage: true, timeout: STEP_MS });
            console.log(`screenshot: ${screenshotPath}`);
        } catch (e) {
            console.error(`could not save the screenshot to ${screenshotPath}: ${e.message}`);
        }
    }
    await browser?.close().catch(() => {});
}

if (failed) process.exit(1);
console.log('browser log-in flow: all steps passed');
