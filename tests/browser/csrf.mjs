// Cross-site requests from real pages in headless Chromium, against a server on
// 127.0.0.1: a form post and a `fetch` with credentials, from a page of another origin of
// the same site (127.0.0.1, another port: `Sec-Fetch-Site: same-site`, so the `Origin`
// check is what refuses) and from a page of another site (evil.test, mapped to 127.0.0.1:
// `Sec-Fetch-Site: cross-site`). The pages are served by this script.
//
//   node tests/browser/csrf.mjs login <base_url>   the example server: log-in CSRF
//   node tests/browser/csrf.mjs layer <base_url>   tests/browser_csrf.rs's app: the layer
//
// `login`: the victim logs in as alice on the server's own page; the forged log-ins as
// mallory (a text/plain form whose body parses as JSON, a no-cors fetch) are answered 403
// and leave alice's cookie as it was; the own page then logs out.
// `layer`: the victim logs in and adds a note from the app's own page; forged note posts
// (a form, a fetch with credentials) are refused and add none.
//
// Needs COGNITO_SESSION_CHROMIUM and COGNITO_SESSION_PLAYWRIGHT_DIR (scripts/browser.sh).
// Exits 0 on success, 1 on a failure, 2 on bad usage.

import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const STEP_MS = 10_000;
const TOTAL_MS = 60_000;

const [mode, baseArg] = process.argv.slice(2);
if (!['login', 'layer'].includes(mode) || !baseArg) {
    console.error('usage: node tests/browser/csrf.mjs <login|layer> <base_url>');
    process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');

function requiredEnv(name) {
    const value = process.env[name];
    if (!value) {
        console.error(`FAIL: ${name} is not set. Run \`scripts/browser.sh install && source .emulators/browser-env\` first.`);
        process.exit(1);
    }
    return value;
}
const executablePath = requiredEnv('COGNITO_SESSION_CHROMIUM');
const playwrightDir = requiredEnv('COGNITO_SESSION_PLAYWRIGHT_DIR');

let current = 'start';
setTimeout(() => {
    console.error(`FAIL: the run did not finish within ${TOTAL_MS / 1000} s (last step: ${current})`);
    process.exit(1);
}, TOTAL_MS).unref();

const { chromium } = await import(
    pathToFileURL(path.join(path.resolve(playwrightDir), 'playwright-core', 'index.mjs')).href
);

async function step(name, body) {
    current = name;
    await body();
    console.log(`ok   ${name}`);
}

const escape = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;');

// The attacks, as pages. `/form`: a form posted on load; `/fetch`: a fetch with the
// victim's cookies. What they send depends on the mode.
const target = mode === 'login' ? `${base}/sessions` : `${base}/notes`;
function attackPage(kind) {
    if (kind === 'form' && mode === 'login') {
        // text/plain encodes `name=value`: this one makes {"username":..,"pad":"="}.
        const name = '{"username":"mallory","password":"x","pad":"';
        return `<form id="f" method="POST" action="${escape(target)}" enctype="text/plain">` +
            `<input type="hidden" name='${escape(name)}' value='"}'></form>` +
            '<script>document.getElementById("f").submit()</script>';
    }
    if (kind === 'form') {
        return `<form id="f" method="POST" action="${escape(target)}">` +
            '<input type="hidden" name="note" value="forged"></form>' +
            '<script>document.getElementById("f").submit()</script>';
    }
    const body = mode === 'login'
        ? JSON.stringify({ username: 'mallory', password: 'x' })
        : 'note=forged';
    return `<script>fetch(${JSON.stringify(target)}, { method: "POST", mode: "no-cors", ` +
        `credentials: "include", headers: { "Content-Type": "text/plain" }, ` +
        `body: ${JSON.stringify(body)} }).catch(() => {});</script>`;
}

const attacker = http.createServer((req, res) => {
    const kind = new URL(req.url, 'http://x').pathname.slice(1);
    if (kind !== 'form' && kind !== 'fetch') {
        res.writeHead(404).end();
        return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>attacker</title>${attackPage(kind)}`);
});
await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
const port = attacker.address().port;
const attackers = [
    // Another port of the same host: same site, another origin.
    { origin: `http://127.0.0.1:${port}`, site: 'same-site' },
    // Another site (evil.test resolves to 127.0.0.1 in this browser only).
    { origin: `http://evil.test:${port}`, site: 'cross-site' },
];

// Opens `${origin}/${kind}` in a new page of `context` and returns the response the server
// gave the forged request, with the Sec-Fetch-Site and Origin the browser sent.
async function attack(context, origin, kind) {
    const page = await context.newPage();
    try {
        const response = page.waitForResponse(
            (r) => r.url() === target && r.request().method() === 'POST',
            { timeout: STEP_MS },
        );
        await page.goto(`${origin}/${kind}`);
        const answer = await response;
        const sent = await answer.request().allHeaders();
        return { status: answer.status(), fetchSite: sent['sec-fetch-site'], origin: sent.origin };
    } finally {
        await page.close();
    }
}

// Every forged request is answered `allowed(status)`, and the browser said what we expect.
async function attackAll(context, allowed, after) {
    for (const { origin, site } of attackers) {
        for (const kind of ['form', 'fetch']) {
            await step(`${kind} from ${origin} (${site}) is refused`, async () => {
                const got = await attack(context, origin, kind);
                console.log(`     answered ${got.status}; Sec-Fetch-Site ${got.fetchSite}, Origin ${got.origin}`);
                // Playwright reports the headers as sent for navigations; for a fetch it may
                // know only the page's own, without the browser's additions.
                if (kind === 'form' && (got.fetchSite !== site || got.origin !== origin)) {
                    throw new Error(`the browser sent Sec-Fetch-Site ${got.fetchSite} and Origin ${got.origin}`);
                }
                if (!allowed(got.status, site)) {
                    throw new Error(`the forged request was answered ${got.status}`);
                }
                await after();
            });
        }
    }
}

let browser;
let failed = false;
try {
    await step('launch chromium', async () => {
        browser = await chromium.launch({
            executablePath,
            headless: true,
            timeout: 30_000,
            args: [
                '--no-sandbox',
                '--disable-gpu',
                '--disable-quic',
                '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync',
                '--disable-dev-shm-usage',
                '--host-resolver-rules=MAP evil.test 127.0.0.1',
            ],
        });
    });
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    const own = await context.newPage();
    const cookie = async () => (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');

    if (mode === 'login') {
        const status = () => own.locator('#status').textContent();
        const expectStatus = (want) =>
            own.waitForFunction((want) => document.getElementById('status')?.textContent === want, want, {
                timeout: STEP_MS,
                polling: 50,
            });
        let before;
        await step('the own page logs alice in', async () => {
            await own.goto(`${base}/`);
            await own.locator('#username').fill('alice');
            await own.locator('#password').fill('anything');
            await own.locator('#login [type=submit]').click();
            await expectStatus('Logged in as alice');
            before = await cookie();
            if (!before) throw new Error('no cookie after log-in');
        });
        await attackAll(context, (s) => s === 403, async () => {
            const now = await cookie();
            if (now !== before) throw new Error('the forged log-in changed the session cookie');
        });
        await step('the own page still shows alice, and logs out', async () => {
            await own.reload();
            await expectStatus('Logged in as alice').catch(async () => {
                throw new Error(`the page shows ${JSON.stringify(await status())}`);
            });
            await own.locator('#logout').click();
            await expectStatus('Logged out alice');
        });
    } else {
        const call = (method, url, body) =>
            own.evaluate(
                async ([method, url, body]) => {
                    const r = await fetch(url, {
                        method,
                        credentials: 'same-origin',
                        headers: body ? { 'Content-Type': 'application/json' } : {},
                        body: body ? JSON.stringify(body) : undefined,
                    });
                    return [r.status, await r.json().catch(() => null)];
                },
                [method, url, body],
            );
        await step('the own page logs in and adds a note', async () => {
            await own.goto(`${base}/`);
            const [login] = await call('POST', '/login', { username: 'alice' });
            if (login !== 200) throw new Error(`log-in answered ${login}`);
            const [status, body] = await call('POST', '/notes', { note: 'mine' });
            if (status !== 200 || body?.notes !== 1) {
                throw new Error(`the own note answered ${status} ${JSON.stringify(body)}`);
            }
        });
        const notes = async () => {
            const [status, body] = await call('GET', '/notes');
            if (status !== 200) throw new Error(`GET /notes answered ${status}`);
            return body.notes;
        };
        // Same site: the Lax cookie is sent, and the layer's Origin check refuses (403).
        // Another site: the browser keeps the Lax cookie back on a POST (401), or, with
        // SameSite=None, the layer would refuse it by Sec-Fetch-Site (403).
        await attackAll(
            context,
            (s, site) => s === 403 || (site === 'cross-site' && s === 401),
            async () => {
                const count = await notes();
                if (count !== 1) throw new Error(`a forged note was added (${count} notes)`);
            },
        );
    }
} catch (e) {
    failed = true;
    console.error(`FAIL at step "${current}": ${e.message}`);
} finally {
    await browser?.close().catch(() => {});
    attacker.close();
}

if (failed) process.exit(1);
console.log(`browser CSRF (${mode}): all steps passed`);
