// Apollo Client 3 with its persisted-query link (useGETForHashedQueries) against a live server: prints, as JSON,
// every request the link sent (method, whether it carried the query, the hash) and the answers of the same query
// asked twice. Usage: node apq_client.mjs http://127.0.0.1:PORT/graphql EMAIL PASSWORD
// (@apollo/client and graphql resolvable from $PFMP_AUDIT_DIR/node_modules)
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.PFMP_AUDIT_DIR || process.cwd(), 'node_modules', 'x.js'));
const { ApolloClient, InMemoryCache, HttpLink, gql } = require('@apollo/client/core');
const { createPersistedQueryLink } = require('@apollo/client/link/persisted-queries');

const [uri, email, password] = process.argv.slice(2);
const signedIn = await fetch(uri, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    query: 'mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }',
    variables: { e: email, p: password },
  }),
});
const token = (await signedIn.json()).data.login.token;

const sent = [];
async function watchedFetch(url, init) {
  const target = new URL(url);
  const body = init.body ? JSON.parse(init.body) : null;
  const extensions = body ? body.extensions : JSON.parse(target.searchParams.get('extensions') || 'null');
  const response = await fetch(url, init);
  const answer = await response.clone().json();
  sent.push({
    method: init.method || 'GET',
    withQuery: Boolean(body ? body.query : target.searchParams.get('query')),
    hash: extensions && extensions.persistedQuery ? extensions.persistedQuery.sha256Hash : null,
    status: response.status,
    errorCodes: (answer.errors || []).map((e) => e.extensions && e.extensions.code),
  });
  return response;
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
  new HttpLink({ uri, headers: { authorization: `Bearer ${token}` }, fetch: watchedFetch }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const query = gql`
  query MyClassrooms {
    me {
      __typename
      ... on Teacher {
        classrooms {
          name
        }
      }
    }
  }
`;
const first = await client.query({ query, fetchPolicy: 'no-cache' });
const second = await client.query({ query, fetchPolicy: 'no-cache' });
console.log(JSON.stringify({ sent, first: first.data, second: second.data }));
