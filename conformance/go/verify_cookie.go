// Verifies a session-jwt cookie with github.com/golang-jwt/jwt: the Go
// snippets of docs/verifying-elsewhere.md (shown there verbatim), run
// against a live reference app by conformance/tests/federated.rs.
//
//	go run verify_cookie.go secret <shared secret>  <token>
//	go run verify_cookie.go pem    <public key file> <token>
//	go run verify_cookie.go jwks   <JWKS URL>        <token>
//
// Prints the verified claims as JSON; a refused token prints why on stderr
// and exits 1.
//
// Written for jwt v5 and kept to the API that v4 shares with it (Parse, a
// Keyfunc, WithValidMethods, MapClaims, the PEM helpers): the test builds
// this file against Debian's v4 package (golang-github-golang-jwt-jwt-dev)
// by rewriting the import path only.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"

	"github.com/golang-jwt/jwt/v5"
)

// Pinned: the algorithms the app signs with, never the token's own choice.
// Keep only the one your app uses.
var (
	hmacAlgorithms      = []string{"HS256"}
	publicKeyAlgorithms = []string{"RS256", "ES256"}
)

var fields = map[string]string{"id": "user_id", "u": "username", "e": "email"} // short -> long

func verify(token string, keyfunc jwt.Keyfunc, algorithms []string) (jwt.MapClaims, error) {
	parsed, err := jwt.Parse(token, keyfunc, jwt.WithValidMethods(algorithms))
	if err != nil {
		return nil, err // bad signature, other algorithm, expired, malformed
	}
	claims := parsed.Claims.(jwt.MapClaims)
	// exp is checked when present; require it (v5 alone also has
	// jwt.WithExpirationRequired()), and sk.
	for _, name := range []string{"sk", "iat", "exp"} {
		if _, ok := claims[name]; !ok {
			return nil, fmt.Errorf("the token has no %q claim", name)
		}
	}
	for short, long := range fields {
		if value, ok := claims[short]; ok {
			claims[long] = value
		}
	}
	return claims, nil
}

// (a) The shared secret (the app's SESSION_JWT_KEY).
func verifyWithSecret(token, secret string) (jwt.MapClaims, error) {
	keyfunc := func(*jwt.Token) (interface{}, error) { return []byte(secret), nil }
	return verify(token, keyfunc, hmacAlgorithms)
}

// (b) The app's public key, a PEM file (read it once in a real service).
func verifyWithPublicKey(token, pemPath string) (jwt.MapClaims, error) {
	pem, err := os.ReadFile(pemPath)
	if err != nil {
		return nil, err
	}
	var publicKey interface{}
	if publicKey, err = jwt.ParseRSAPublicKeyFromPEM(pem); err != nil {
		if publicKey, err = jwt.ParseECPublicKeyFromPEM(pem); err != nil {
			return nil, errors.New("not an RSA or EC public key")
		}
	}
	keyfunc := func(*jwt.Token) (interface{}, error) { return publicKey, nil }
	return verify(token, keyfunc, publicKeyAlgorithms)
}

// (c) The app's JWKS URL. golang-jwt has no JWKS client: fetch the set (cache
// it in a real service, and fetch again on an unknown kid) and let the
// token's kid pick the key.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	N   string `json:"n"`   // RSA
	E   string `json:"e"`   // RSA
	Crv string `json:"crv"` // EC
	X   string `json:"x"`   // EC
	Y   string `json:"y"`   // EC
}

func fetchJWKS(url string) ([]jwk, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	return set.Keys, nil
}

func (k jwk) publicKey() (interface{}, error) {
	var a, b *big.Int
	var err error
	switch {
	case k.Kty == "RSA":
		if a, b, err = numbers(k.N, k.E); err == nil && b.IsInt64() {
			return &rsa.PublicKey{N: a, E: int(b.Int64())}, nil
		}
	case k.Kty == "EC" && k.Crv == "P-256":
		if a, b, err = numbers(k.X, k.Y); err == nil {
			return &ecdsa.PublicKey{Curve: elliptic.P256(), X: a, Y: b}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("JWK %q: %v", k.Kid, err)
	}
	return nil, fmt.Errorf("JWK %q: not an RSA or P-256 key", k.Kid)
}

// numbers decodes two of a JWK's base64url big-endian integers.
func numbers(first, second string) (*big.Int, *big.Int, error) {
	a, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		return nil, nil, err
	}
	b, err := base64.RawURLEncoding.DecodeString(second)
	return new(big.Int).SetBytes(a), new(big.Int).SetBytes(b), err
}

func verifyWithJWKS(token, url string) (jwt.MapClaims, error) {
	keys, err := fetchJWKS(url)
	if err != nil {
		return nil, err
	}
	keyfunc := func(t *jwt.Token) (interface{}, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range keys {
			if k.Kid == kid {
				return k.publicKey()
			}
		}
		return nil, fmt.Errorf("no key with kid %q in the JWKS", kid)
	}
	return verify(token, keyfunc, publicKeyAlgorithms)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: verify_cookie secret|pem|jwks KEY TOKEN")
		os.Exit(2)
	}
	mode, key, token := os.Args[1], os.Args[2], os.Args[3]
	verifyWith := map[string]func(string, string) (jwt.MapClaims, error){
		"secret": verifyWithSecret,
		"pem":    verifyWithPublicKey,
		"jwks":   verifyWithJWKS,
	}[mode]
	if verifyWith == nil {
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		os.Exit(2)
	}
	claims, err := verifyWith(token, key)
	if err != nil {
		fmt.Fprintf(os.Stderr, "refused: %v\n", err)
		os.Exit(1)
	}
	out, err := json.Marshal(claims)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
