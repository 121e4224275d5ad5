// Verifies a session-jwt cookie with `jose`: the Node snippets of
// docs/verifying-elsewhere.md (shown there verbatim), run against a live
// reference app by conformance/tests/federated.rs.
//
//   node verify_cookie.mjs secret <shared secret>  <token>
//   node verify_cookie.mjs pem    <public key file> <token>
//   node verify_cookie.mjs jwks   <JWKS URL>        <token>
//
// Prints the verified claims as JSON; a refused token prints why on stderr
// and exits 1. Needs `jose` (npm ci in this directory: package.json pins it).

import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRemoteJWKSet, jwtVerify } from "jose";

// Pinned: the algorithms the app signs with, never the token's own choice.
// Keep only the one your app uses.
const HMAC_ALGORITHMS = ["HS256"];
const PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"];

const FIELDS = { id: "user_id", u: "username", e: "email" }; // short -> long

async function verify(token, key, algorithms) {
  const { payload } = await jwtVerify(token, key, {
    algorithms,
    requiredClaims: ["sk", "iat", "exp"],
  });
  for (const [short, long] of Object.entries(FIELDS)) {
    if (short in payload) payload[long] = payload[short];
  }
  return payload;
}

// (a) The shared secret (the app's SESSION_JWT_KEY), as bytes.
export function verifyWithSecret(token, secret) {
  return verify(token, new TextEncoder().encode(secret), HMAC_ALGORITHMS);
}

// (b) The app's public key, a PEM file (read it once in a real service).
export function verifyWithPublicKey(token, pemPath) {
  const publicKey = createPublicKey(readFileSync(pemPath));
  return verify(token, publicKey, PUBLIC_KEY_ALGORITHMS);
}

// (c) The app's JWKS URL. One key set per URL: it fetches and caches the
// keys, and the token's kid picks one (an unknown kid is an error).
const jwksSets = new Map();

export function verifyWithJwks(token, url) {
  if (!jwksSets.has(url)) jwksSets.set(url, createRemoteJWKSet(new URL(url)));
  return verify(token, jwksSets.get(url), PUBLIC_KEY_ALGORITHMS);
}

const modes = {
  secret: verifyWithSecret,
  pem: verifyWithPublicKey,
  jwks: verifyWithJwks,
};
const [mode, key, token] = process.argv.slice(2);
try {
  const claims = await modes[mode](token, key);
  console.log(JSON.stringify(claims));
} catch (err) {
  // A JOSEError (err.code: ERR_JWT_EXPIRED, ERR_JWKS_NO_MATCHING_KEY, ...).
  console.error(`refused: ${err.code ?? err.name}: ${err.message}`);
  process.exitCode = 1;
}
