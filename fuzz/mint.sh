#!/usr/bin/env bash
# Makes a throwaway RSA key and prints the constants of src/fuzz.rs that depend on it: the
# public key (n, e) and RS256 tokens signed with it. The private key is deleted on exit: the
# fuzz targets only ever verify. Run it again (and paste its output) to change the claims.
set -euo pipefail

now=1700000000
pool=us-east-1_fuzz
client=fuzzclient
iss="https://cognito-idp.us-east-1.amazonaws.com/$pool"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl genrsa -out "$dir/key.pem" 2048 2>/dev/null

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# The modulus as big-endian bytes, no leading zero: the JWK "n".
n=$(openssl rsa -in "$dir/key.pem" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
e=AQAB # 65537, openssl's default exponent

# sign KID CLAIMS_JSON: a compact RS256 JWS.
sign() {
    local header payload signature
    header=$(printf '{"alg":"RS256","kid":"%s","typ":"JWT"}' "$1" | b64url)
    payload=$(printf '%s' "$2" | b64url)
    signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$dir/key.pem" | b64url)
    printf '%s.%s.%s' "$header" "$payload" "$signature"
}

# claims TOKEN_USE CLIENT_ID: Cognito-shaped access-token claims at the fixed clock.
claims() {
    printf '{"sub":"fuzz-sub","iss":"%s","client_id":"%s","origin_jti":"fuzz-ojti","token_use":"%s","scope":"aws.cognito.signin.user.admin","username":"fuzzer","iat":%d,"exp":%d,"jti":"fuzz-jti"}' \
        "$iss" "$2" "$1" $((now - 10)) $((now + 3600))
}

echo "const KEY_N: &str = \"$n\";"
echo "const KEY_E: &str = \"$e\";"
echo "pub const VALID_JWT: &str = \"$(sign fuzzkey "$(claims access "$client")")\";"
echo "pub const ID_TOKEN_JWT: &str = \"$(sign fuzzkey "$(claims id "$client")")\";"
echo "pub const OTHER_CLIENT_JWT: &str = \"$(sign fuzzkey "$(claims access stranger)")\";"
echo "pub const UNKNOWN_KID_JWT: &str = \"$(sign otherkey "$(claims access "$client")")\";"
