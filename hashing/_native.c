/*
 * blindlink's batch loops over OpenSSL's primitives, for the party-side hot path.
 *
 * Python pays about a microsecond for every call into a crypto library, and a list
 * owner makes millions of such calls: one HMAC per token, one AEAD seal per record.
 * These functions take whole columns as flat buffers and run the same primitives in
 * one C loop with the interpreter lock released:
 *
 *   hmac_sha256_many(key, offsets, data) -> bytes
 *       HMAC-SHA256 (RFC 2104) of each message data[offsets[i]:offsets[i+1]] under one
 *       key; 32 bytes per message, end to end. The keyed inner and outer states are
 *       computed once, so each message costs two SHA-256 compressions.
 *   aes256gcm_seal_many(key, plaintexts, pt_len, aad, nonces) -> bytes
 *       AES-256-GCM of each pt_len-byte plaintext under one key and AAD with its own
 *       12-byte nonce; records nonce || ciphertext || tag, end to end.
 *
 * The hashing and the cipher are OpenSSL's (SHA-256 and AES-GCM with the CPU's SHA and
 * AES instructions where present); only the loops and the HMAC padding are ours, and
 * tests compare every output with the standard library and with `cryptography`.
 * Nothing here logs or puts key or message bytes into an error.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define BLOCK 64
#define DIGEST 32
#define NONCE 12
#define TAG 16

static PyObject *
hmac_sha256_many(PyObject *self, PyObject *args)
{
    Py_buffer key, offsets, data;
    if (!PyArg_ParseTuple(args, "y*y*y*", &key, &offsets, &data))
        return NULL;
    PyObject *out = NULL;
    if (key.len == 0) {
        PyErr_SetString(PyExc_ValueError, "HMAC key is empty");
        goto done;
    }
    if (offsets.len % 8 != 0 || offsets.len < 8) {
        PyErr_SetString(PyExc_ValueError, "offsets must be n + 1 little-endian int64 values");
        goto done;
    }
    Py_ssize_t n = offsets.len / 8 - 1;
    const int64_t *off = (const int64_t *)offsets.buf;
    /* Every message must lie inside the data buffer: checked before any read. */
    if (off[0] < 0 || off[n] > (int64_t)data.len) {
        PyErr_SetString(PyExc_ValueError, "offsets point outside the data buffer");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i + 1] < off[i]) {
            PyErr_SetString(PyExc_ValueError, "offsets must not decrease");
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, n * DIGEST);
    if (out == NULL)
        goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *msg = (const unsigned char *)data.buf;

    unsigned char pad[BLOCK];
    memset(pad, 0, BLOCK);
    if (key.len > BLOCK)
        SHA256((const unsigned char *)key.buf, (size_t)key.len, pad);
    else
        memcpy(pad, key.buf, (size_t)key.len);
    SHA256_CTX inner, outer;
    for (int i = 0; i < BLOCK; i++)
        pad[i] ^= 0x36;
    SHA256_Init(&inner);
    SHA256_Update(&inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&outer);
    SHA256_Update(&outer, pad, BLOCK);
    OPENSSL_cleanse(pad, BLOCK);

    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX ctx;
    unsigned char inner_digest[DIGEST];
    for (Py_ssize_t i = 0; i < n; i++) {
        ctx = inner;
        SHA256_Update(&ctx, msg + off[i], (size_t)(off[i + 1] - off[i]));
        SHA256_Final(inner_digest, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, inner_digest, DIGEST);
        SHA256_Final(dst + (size_t)i * DIGEST, &ctx);
    }
    OPENSSL_cleanse(&ctx, sizeof ctx);
    OPENSSL_cleanse(inner_digest, DIGEST);
    Py_END_ALLOW_THREADS
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return out;
}

static PyObject *
aes256gcm_seal_many(PyObject *self, PyObject *args)
{
    Py_buffer key, plaintexts, aad, nonces;
    Py_ssize_t pt_len;
    if (!PyArg_ParseTuple(args, "y*y*ny*y*", &key, &plaintexts, &pt_len, &aad, &nonces))
        return NULL;
    PyObject *out = NULL;
    if (key.len != 32) {
        PyErr_SetString(PyExc_ValueError, "AES-256-GCM needs a 32-byte key");
        goto done;
    }
    if (pt_len <= 0 || plaintexts.len % pt_len != 0 || pt_len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "plaintext buffer is not a whole number of records");
        goto done;
    }
    if (aad.len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "associated data is too long");
        goto done;
    }
    Py_ssize_t n = plaintexts.len / pt_len;
    if (nonces.len != n * NONCE) {
        PyErr_SetString(PyExc_ValueError, "need one 12-byte nonce per record");
        goto done;
    }
    Py_ssize_t rec = NONCE + pt_len + TAG;
    out = PyBytes_FromStringAndSize(NULL, n * rec);
    if (out == NULL)
        goto done;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *src = (const unsigned char *)plaintexts.buf;
    const unsigned char *nonce = (const unsigned char *)nonces.buf;
    int ok = 1;

    Py_BEGIN_ALLOW_THREADS
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    ok = ctx != NULL
         && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1
         && EVP_EncryptInit_ex(ctx, NULL, NULL, (const unsigned char *)key.buf, NULL) == 1;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        unsigned char *r = dst + (size_t)i * (size_t)rec;
        int len = 0;
        memcpy(r, nonce + (size_t)i * NONCE, NONCE);
        ok = EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, r) == 1
             && (aad.len == 0
                 || EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad.buf,
                                      (int)aad.len) == 1)
             && EVP_EncryptUpdate(ctx, r + NONCE, &len, src + (size_t)i * (size_t)pt_len,
                                  (int)pt_len) == 1
             && len == (int)pt_len
             && EVP_EncryptFinal_ex(ctx, r + NONCE + pt_len, &len) == 1
             && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, r + NONCE + pt_len) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    Py_END_ALLOW_THREADS

    if (!ok) {
        Py_CLEAR(out);
        PyErr_SetString(PyExc_RuntimeError, "AES-256-GCM encryption failed");
    }

done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&plaintexts);
    PyBuffer_Release(&aad);
    PyBuffer_Release(&nonces);
    return out;
}

static PyMethodDef methods[] = {
    {"hmac_sha256_many", hmac_sha256_many, METH_VARARGS,
     "hmac_sha256_many(key, offsets, data) -> 32 bytes per message, end to end"},
    {"aes256gcm_seal_many", aes256gcm_seal_many, METH_VARARGS,
     "aes256gcm_seal_many(key, plaintexts, pt_len, aad, nonces) -> nonce||ct||tag records"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "hashing._native",
    "Batch loops over OpenSSL's SHA-256 and AES-GCM for the party-side hot path.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&module);
}
