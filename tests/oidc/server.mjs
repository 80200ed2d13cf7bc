// A Cognito user pool domain's managed login, for the tests: a real OAuth 2.0 / OpenID
// Connect server (oidc-provider) on 127.0.0.1, configured through its documented options
// to answer on Cognito's paths with Cognito-shaped tokens.
//
//   OIDC_CONFIG='{"port":0,"poolId":"us-east-1_Managed",...}' node tests/oidc/server.mjs
//   (optional "signingKeyPem" and "signingKid": sign with that key, not a new one)
//   node tests/oidc/server.mjs '{"port":0,...}'
//
// Prints one JSON line on stdout once it listens ({"ready":true,"url","issuer","jwksUrl"});
// everything else goes to stderr. Exits when stdin closes (it dies with the test that
// started it) and on SIGTERM / SIGINT.
//
// What oidc-provider enforces itself (not this file): PKCE S256 on every authorization
// request, single-use and short-lived codes, exact redirect_uri matching, client
// authentication at the token and revocation endpoints, and the refresh token grant.
//
// Where it is not Cognito, and why:
// - access tokens carry `aud` (the client id): oidc-provider refuses to sign a JWT access
//   token without an audience. Their `jti` and `origin_jti` (the grant id) are random
//   strings, not UUIDs. ID tokens have no at_hash / jti / origin_jti.
// - the redirect back to the app also carries `iss` (RFC 9207): oidc-provider always adds it.
// - PKCE is required of every client (Cognito leaves it optional), as the tests want.
// - a replayed code also revokes what that code gave (RFC 6749 4.1.2, oidc-provider's grant
//   revocation); a client secret is taken in the body (client_secret_post) as well as Basic.
// - an unregistered redirect_uri gets a 400 page here, Cognito's /error page there.
// - federated users are in no group (Cognito puts them in `<poolId>_<provider>`).

import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  randomUUID,
} from 'node:crypto';

// oidc-provider prints its notices with console.info, which is stdout: the ready line must
// be the only thing there.
const stderrLog = (...args) => console.error(...args);
console.log = stderrLog;
console.info = stderrLog;
console.debug = stderrLog;

const { Provider } = await import('oidc-provider');

const config = JSON.parse(process.env.OIDC_CONFIG ?? process.argv[2] ?? '{}');

const poolId = config.poolId ?? 'us-east-1_Managed';
const region = poolId.split('_')[0];
if (!region || !poolId.includes('_')) {
  throw new Error(`poolId must look like REGION_ID, got ${JSON.stringify(poolId)}`);
}
const issuer = `https://cognito-idp.${region}.amazonaws.com/${poolId}`;
const accessTtl = config.accessTtl ?? 3600;
const idTtl = config.idTtl ?? 3600;
const DEFAULT_SCOPES = 'openid email profile';
// Scopes a Cognito app client can be given (besides custom resource-server scopes).
const COGNITO_SCOPES = ['openid', 'email', 'phone', 'profile', 'aws.cognito.signin.user.admin'];
// oidc-provider issues JWT access tokens only for a resource server (RFC 8707). Cognito has
// one implicit audience, the pool: every request resolves to this indicator.
const POOL_RESOURCE = `urn:cognito-session:test:${poolId}`;

// ---- accounts ----------------------------------------------------------------------------

/** accountId (the `sub`) -> { accountId, username, password, email, groups, identity } */
const accounts = new Map();
const accountIdByUsername = new Map();

function addAccount({ username, password, email, groups = [], identity }) {
  const accountId = randomUUID();
  const account = { accountId, username, password, email, groups, identity };
  accounts.set(accountId, account);
  accountIdByUsername.set(username, accountId);
  return account;
}

for (const [username, user] of Object.entries(config.users ?? {})) {
  addAccount({ username, password: user.password, email: user.email, groups: user.groups ?? [] });
}

// Cognito names a federated user `<IdP name>_<the IdP's user id>`; Google's ids are 21
// digits, we use 20 like the issue's example.
function federatedAccount(providerName) {
  let userId = String(randomInt(1, 10));
  while (userId.length < 20) userId += String(randomInt(0, 10));
  const username = `${providerName}_${userId}`;
  return addAccount({
    username,
    email: `${username.toLowerCase()}@federated.example`,
    identity: { userId, providerName, providerType: providerName === 'Google' ? 'Google' : 'OIDC' },
  });
}

// ---- clients -----------------------------------------------------------------------------

/** client id -> its registered sign-out URLs (Cognito's LogoutURLs) */
const logoutUris = new Map();

const clients = (config.clients ?? []).map((c) => {
  logoutUris.set(c.clientId, c.logoutUris ?? []);
  const auth = c.clientSecret
    ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }
    : { token_endpoint_auth_method: 'none' };
  return {
    client_id: c.clientId,
    ...auth,
    redirect_uris: c.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: c.scopes ?? DEFAULT_SCOPES,
    // Cognito's ID tokens always carry auth_time.
    require_auth_time: true,
  };
});

// ---- what the tests can look at ----------------------------------------------------------

/** Each call of the token endpoint: { grant_type, ok, error } */
const tokenCalls = [];
let revocations = 0;

// ---- the provider ------------------------------------------------------------------------

// A key of its own, or the one `signingKeyPem` / `signingKid` name: a test that signs in
// through both this domain and moto's API gives it moto's key (kid `dummy`), so that one
// JWKS, moto's, vouches for the tokens of both, as a pool's one key set does.
const privateKey = config.signingKeyPem
  ? createPrivateKey(config.signingKeyPem)
  : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
// Cognito's key ids are 44 characters of base64.
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: config.signingKid ?? randomBytes(32).toString('base64'),
  alg: 'RS256',
  use: 'sig',
};

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },

  routes: {
    authorization: '/oauth2/authorize',
    token: '/oauth2/token',
    revocation: '/oauth2/revoke',
    jwks: '/.well-known/jwks.json',
    // Cognito has /oauth2/userInfo; the tests have no use for it (disabled below).
    userinfo: '/oauth2/userInfo',
  },

  responseTypes: ['code'],
  pkce: { required: () => true },
  // Cognito refuses an authorization request without redirect_uri.
  allowOmittingSingleRegisteredRedirectUri: false,
  // Cognito's own authorize parameters: which external IdP to send the user to, and the
  // language of the managed login pages.
  extraParams: {
    identity_provider(_ctx, value) {
      if (value !== undefined && !/^[^_\s][^\s]{0,31}$/u.test(value)) {
        throw new Provider.errors.InvalidRequest('identity_provider is not a provider name');
      }
    },
    lang: null,
  },

  scopes: COGNITO_SCOPES,
  claims: {
    openid: ['sub', 'cognito:username', 'token_use', 'cognito:groups', 'identities'],
    email: ['email', 'email_verified'],
    phone: ['phone_number', 'phone_number_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    auth_time: null,
  },
  // Scope claims go into the ID token (Cognito's carry email etc.), not only userinfo.
  conformIdTokenClaims: false,

  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: account.accountId,
      async claims() {
        return {
          sub: account.accountId,
          token_use: 'id',
          'cognito:username': account.username,
          ...(account.groups.length ? { 'cognito:groups': account.groups } : {}),
          ...(account.email ? { email: account.email, email_verified: true } : {}),
          ...(account.identity
            ? {
                identities: [
                  {
                    userId: account.identity.userId,
                    providerName: account.identity.providerName,
                    providerType: account.identity.providerType,
                    issuer: null,
                    primary: 'true',
                    dateCreated: String(Date.now()),
                  },
                ],
              }
            : {}),
        };
      },
    };
  },

  // Cognito has no consent screen: every sign-in makes a new grant with what was asked. A
  // new grant per log-in also gives each log-in its own `origin_jti` (the grant id).
  async loadExistingGrant(ctx) {
    const { client, params, session } = ctx.oidc;
    const grant = new ctx.oidc.provider.Grant({
      clientId: client.clientId,
      accountId: session.accountId,
    });
    const scope = String(params.scope ?? '');
    grant.addOIDCScope(scope);
    grant.addResourceScope(POOL_RESOURCE, scope);
    await grant.save();
    return grant;
  },

  // Cognito issues a refresh token with every code and doesn't rotate it; signing out of
  // the managed login doesn't end the tokens (only revocation does).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: false,
  expiresWithSession: async () => false,

  ttl: {
    AccessToken: accessTtl,
    IdToken: idTtl,
    AuthorizationCode: 300, // Cognito's codes live 5 minutes
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Interaction: 3600,
    Session: 3600,
  },

  // The claims that make an access token Cognito's; oidc-provider itself writes iss, sub,
  // client_id, scope, jti, iat, exp (and aud, see getResourceServerInfo).
  async extraTokenClaims(ctx, token) {
    const account = token.accountId && accounts.get(token.accountId);
    if (!account) return undefined;
    const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
    return {
      token_use: 'access',
      username: account.username,
      ...(account.groups.length ? { 'cognito:groups': account.groups } : {}),
      origin_jti: token.grantId,
      event_id: randomUUID(),
      auth_time: source?.authTime,
      version: 2,
    };
  },
  formats: {
    customizers: {
      // Cognito's token header is { kid, alg }: no `typ: at+jwt`.
      async jwt(_ctx, _token, jwt) {
        jwt.header = { typ: undefined };
      },
    },
  },

  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: false },
    rpInitiatedLogout: { enabled: false }, // Cognito's /logout is below
    revocation: {
      enabled: true,
      // Cognito revokes only a token of the client that asks; oidc-provider destroys the
      // token (and its grant) when this returns true.
      async allowedPolicy(_ctx, client, token) {
        const allowed = token.clientId === client.clientId;
        if (allowed) revocations += 1;
        return allowed;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => POOL_RESOURCE,
      useGrantedResource: async () => true,
      async getResourceServerInfo(_ctx, resource, client) {
        if (resource !== POOL_RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: COGNITO_SCOPES.join(' '),
          // oidc-provider refuses a JWT access token without `aud`; Cognito's have none.
          // The client id is the least surprising value.
          audience: client.clientId,
          accessTokenTTL: accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },

  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page(
      'Error',
      `<h1>Error</h1>${Object.entries(out)
        .map(([k, v]) => `<p class="error"><b>${html(k)}</b>: ${html(v)}</p>`)
        .join('')}`,
    );
  },
});

provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));

// ---- pages -------------------------------------------------------------------------------

function html(value) {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

function page(title, body, lang = 'en') {
  return `<!DOCTYPE html>
<html lang="${html(lang)}"><head><meta charset="utf-8"><title>${html(title)}</title></head>
<body>${body}</body></html>`;
}

function signInPage(uid, params, error) {
  const idp = params.identity_provider;
  const action = `/interaction/${encodeURIComponent(uid)}`;
  const errorText = error ? `<p id="error" class="error">${html(error)}</p>` : '';
  const fields =
    idp && idp !== 'COGNITO'
      ? `<button id="federated" type="submit" name="action" value="federated">Continue with ${html(idp)}</button>`
      : `<label>Username <input id="username" name="username" autocomplete="username"></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
  <button id="submit" type="submit" name="action" value="signin">Sign in</button>`;
  return page(
    'Sign in',
    `<h1>Sign in</h1>${errorText}
<form method="post" action="${html(action)}">
  ${fields}
  <button id="cancel" type="submit" name="action" value="cancel">Cancel</button>
</form>`,
    params.lang,
  );
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// ---- routes outside oidc-provider's own ---------------------------------------------------

async function interaction(ctx) {
  const uid = decodeURIComponent(ctx.path.slice('/interaction/'.length));
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  const { prompt, params } = details;
  if (prompt.name !== 'login') ctx.throw(500, `unexpected prompt ${prompt.name}`);

  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = signInPage(uid, params);
    return;
  }
  if (ctx.method !== 'POST') ctx.throw(405);

  const form = await readForm(ctx.req);
  const action = form.get('action');
  let result;
  if (action === 'cancel') {
    result = { error: 'access_denied', error_description: 'The user cancelled the sign-in.' };
  } else if (action === 'federated' && params.identity_provider) {
    const account = federatedAccount(params.identity_provider);
    console.error(`sign-in: ${account.username} through ${params.identity_provider}`);
    result = { login: { accountId: account.accountId, amr: ['fed'] } };
  } else if (action === 'signin') {
    const account = accounts.get(accountIdByUsername.get(form.get('username') ?? ''));
    if (!account || account.password === undefined || account.password !== form.get('password')) {
      ctx.type = 'html';
      ctx.body = signInPage(uid, params, 'Incorrect username or password.');
      return;
    }
    console.error(`sign-in: ${account.username}`);
    result = { login: { accountId: account.accountId, amr: ['pwd'] } };
  } else {
    ctx.throw(400, 'unknown action');
  }
  ctx.respond = false; // interactionFinished answers on the raw response
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
}

// Cognito's sign-out endpoint: GET /logout?client_id=..&logout_uri=.. ends the managed
// login's session and sends the browser to logout_uri, which must be one of the client's.
async function logout(ctx) {
  if (ctx.method !== 'GET') ctx.throw(405);
  const { client_id: clientId, logout_uri: logoutUri } = ctx.query;
  const allowed = typeof clientId === 'string' ? logoutUris.get(clientId) : undefined;
  if (!allowed || typeof logoutUri !== 'string' || !allowed.includes(logoutUri)) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Error', '<p class="error">Required String parameter \'logout_uri\' is not a registered sign-out URL.</p>');
    return;
  }
  const session = await provider.Session.get(ctx);
  if (session.accountId) {
    console.error('sign-out: session ended');
    await session.destroy();
  }
  ctx.cookies.set(provider.cookieName('session'), null, sessionCookieOptions());
  ctx.redirect(logoutUri);
}

function sessionCookieOptions() {
  return { signed: true, httpOnly: true, sameSite: 'lax', path: '/' };
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/interaction/')) return interaction(ctx);
  if (ctx.path === '/logout') return logout(ctx);
  if (ctx.path === '/_test/log' && ctx.method === 'GET') {
    ctx.body = tokenCalls;
    return;
  }
  if (ctx.path === '/_test/revocations' && ctx.method === 'GET') {
    ctx.body = revocations;
    ctx.type = 'json';
    return;
  }
  await next();
  if (ctx.oidc?.route === 'token') {
    const ok = ctx.status === 200;
    tokenCalls.push({
      grant_type: ctx.oidc.params?.grant_type ?? ctx.oidc.body?.grant_type ?? null,
      ok,
      error: ok ? null : (ctx.body?.error ?? String(ctx.status)),
    });
  }
});

// ---- listen ------------------------------------------------------------------------------

const server = provider.listen(config.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;
  process.stdout.write(
    `${JSON.stringify({ ready: true, url, issuer, jwksUrl: `${url}/.well-known/jwks.json` })}\n`,
  );
  console.error(`oidc-provider for ${issuer} on ${url}`);
});

function stop(why) {
  console.error(`stopping: ${why}`);
  server.close();
  process.exit(0);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.stdin.on('end', () => stop('stdin closed'));
process.stdin.on('close', () => stop('stdin closed'));
process.stdin.resume();
