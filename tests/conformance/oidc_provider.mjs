// A certified OpenID provider (npm's oidc-provider) for the sign-in tests (tests/identity/test_oidc_code_flow.py).
// Usage: PFMP_OIDC_DIR=<folder with node_modules/oidc-provider> PFMP_OIDC_CONFIG=<json> node oidc_provider.mjs
// The configuration (JSON): {"port", "clients": [client metadata], "keys": [private JWKs, the first signs],
// "accounts": {login: claims}}: an account's claims are its `sub`, an email and those `accounts` gives it (names,
// the ENT's profile, UAI and classes), released by the scopes `email`, `profile` and `ent`, in the ID token too.
// Its own development login page (devInteractions) signs in whoever types a login: the login becomes the `sub`.
// Consent is granted to every client at once (first-party clients), so a scripted login is two requests.
// Prints "ready <issuer>" once listening.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.PFMP_OIDC_DIR || process.cwd();
const { default: Provider } = await import(
  pathToFileURL(path.join(dir, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href
);
const config = JSON.parse(process.env.PFMP_OIDC_CONFIG);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: config.keys },
  cookies: { keys: ['a cookie key of the test provider'] },
  pkce: { required: () => true, methods: ['S256'] },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name'],
    ent: ['ENTPersonProfils', 'ENTPersonStructRattachRNE', 'ENTEleveClasses'],
  },
  // The claims of the scopes granted go into the ID token, as ENTs do, not only to the userinfo endpoint.
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@ent.example.test`, email_verified: true, ...(config.accounts?.[id] || {}) };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile ent');
    await grant.save();
    return grant;
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('end_session.error', (ctx, err) => console.error('end_session.error', err.error_description, err.error_detail));
provider.on('backchannel.error', (...args) => console.error('backchannel.error', args[args.length - 1]));

provider.listen(config.port, '127.0.0.1', () => console.log(`ready ${issuer}`));
