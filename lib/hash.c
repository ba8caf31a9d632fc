/* MD5 comes from OpenSSL's libcrypto. The one-shot MD5() is deprecated in
 * OpenSSL 3 in favour of EVP, but EVP allocates a context and looks the
 * algorithm up on every call, which costs more than the digest of a short
 * key; the legacy function is still exported and is the fast path. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/md5.h>

#include "hash.h"

void hash_md5(const void *data, size_t len, unsigned char out[MD5_LEN])
{
    MD5(data, len, out);
}

void hash_hex(const unsigned char digest[MD5_LEN], char out[MD5_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < MD5_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
}
